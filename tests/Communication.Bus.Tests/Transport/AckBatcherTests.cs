using StackExchange.Redis;
using TestSupport;

namespace Communication.Bus.Tests;

/// <summary>The acknowledgement batcher without Redis: a fake XACK the test completes or fails.</summary>
public sealed class AckBatcherTests
{
    private sealed class FakeXack
    {
        private readonly List<(RedisValue[] Ids, TaskCompletionSource<long> Reply)> _calls = [];

        public int Count
        {
            get
            {
                lock (_calls)
                {
                    return _calls.Count;
                }
            }
        }

        public (RedisValue[] Ids, TaskCompletionSource<long> Reply) this[int index]
        {
            get
            {
                lock (_calls)
                {
                    return _calls[index];
                }
            }
        }

        public Task Send(RedisValue[] ids)
        {
            var reply = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_calls)
            {
                _calls.Add((ids, reply));
            }

            return reply.Task;
        }
    }

    [Fact]
    public async Task An_acknowledgement_when_idle_is_sent_at_once_and_completes_with_its_XACK()
    {
        var xack = new FakeXack();
        var batcher = new AckBatcher(xack.Send);

        var ack = batcher.AcknowledgeAsync("1-0");

        Assert.Equal(1, xack.Count);
        Assert.Equal(new RedisValue[] { "1-0" }, xack[0].Ids);
        Assert.False(ack.IsCompleted);
        xack[0].Reply.SetResult(1);
        await ack.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Acknowledgements_that_arrive_during_an_XACK_go_together_in_the_next_one()
    {
        var xack = new FakeXack();
        var batcher = new AckBatcher(xack.Send);
        var first = batcher.AcknowledgeAsync("1-0");

        var second = batcher.AcknowledgeAsync("2-0");
        var third = batcher.AcknowledgeAsync("3-0");

        Assert.Equal(1, xack.Count); // one XACK in flight at a time
        xack[0].Reply.SetResult(1);
        await first.WaitAsync(TimeSpan.FromSeconds(10));
        await Eventually.TrueAsync(() => xack.Count == 2, TimeSpan.FromSeconds(10), "the waiting ids are sent once the first XACK returns");
        Assert.Equal(new RedisValue[] { "2-0", "3-0" }, xack[1].Ids);
        Assert.False(second.IsCompleted);
        Assert.False(third.IsCompleted);

        xack[1].Reply.SetResult(2);
        await Task.WhenAll(second, third).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(2, xack.Count);
    }

    [Fact]
    public async Task A_failed_XACK_fails_every_acknowledgement_it_carried_and_the_next_one_is_sent()
    {
        var xack = new FakeXack();
        var batcher = new AckBatcher(xack.Send);
        var first = batcher.AcknowledgeAsync("1-0");
        var second = batcher.AcknowledgeAsync("2-0");
        var third = batcher.AcknowledgeAsync("3-0");
        xack[0].Reply.SetResult(1);
        await Eventually.TrueAsync(() => xack.Count == 2, TimeSpan.FromSeconds(10));

        var error = new RedisConnectionException(ConnectionFailureType.SocketClosed, "gone");
        xack[1].Reply.SetException(error);

        Assert.Same(error, await Assert.ThrowsAsync<RedisConnectionException>(() => second.WaitAsync(TimeSpan.FromSeconds(10))));
        Assert.Same(error, await Assert.ThrowsAsync<RedisConnectionException>(() => third.WaitAsync(TimeSpan.FromSeconds(10))));
        await first.WaitAsync(TimeSpan.FromSeconds(10));

        // Not stuck: the next acknowledgement is sent.
        var fourth = batcher.AcknowledgeAsync("4-0");
        await Eventually.TrueAsync(() => xack.Count == 3, TimeSpan.FromSeconds(10));
        Assert.Equal(new RedisValue[] { "4-0" }, xack[2].Ids);
        xack[2].Reply.SetResult(1);
        await fourth.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task An_XACK_that_throws_before_it_is_sent_fails_its_acknowledgement()
    {
        var batcher = new AckBatcher(_ => throw new ObjectDisposedException("connection"));

        await Assert.ThrowsAsync<ObjectDisposedException>(() => batcher.AcknowledgeAsync("1-0").WaitAsync(TimeSpan.FromSeconds(10)));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => batcher.AcknowledgeAsync("2-0").WaitAsync(TimeSpan.FromSeconds(10)));
    }
}
