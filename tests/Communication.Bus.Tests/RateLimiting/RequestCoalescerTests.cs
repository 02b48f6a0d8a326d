using System.Collections.Concurrent;
using Communication.Bus.RateLimiting;
using TestSupport;

namespace Communication.Bus.Tests.RateLimiting;

/// <summary>The per-key request coalescer behind the token bucket's batching (no Redis): a fake send whose calls the test completes.</summary>
public sealed class RequestCoalescerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A send the test controls: each call is recorded and waits until the test answers it.</summary>
    private sealed class FakeSend
    {
        public ConcurrentQueue<(string Key, int[] Requests, TaskCompletionSource<int[]> Answer, CancellationToken Token)> Calls { get; } = new();

        public ValueTask<int[]> SendAsync(string key, int[] requests, CancellationToken cancellationToken)
        {
            var answer = new TaskCompletionSource<int[]>(TaskCreationOptions.RunContinuationsAsynchronously);
            Calls.Enqueue((key, requests, answer, cancellationToken));
            return new ValueTask<int[]>(answer.Task);
        }

        public async Task<(string Key, int[] Requests, TaskCompletionSource<int[]> Answer, CancellationToken Token)> NextAsync()
        {
            var call = default((string, int[], TaskCompletionSource<int[]>, CancellationToken));
            await Eventually.TrueAsync(() => Calls.TryDequeue(out call), because: "the coalescer sends");
            return call;
        }

        /// <summary>Answers each request with ten times itself.</summary>
        public static void Echo((string Key, int[] Requests, TaskCompletionSource<int[]> Answer, CancellationToken Token) call) =>
            call.Answer.SetResult(call.Requests.Select(r => r * 10).ToArray());
    }

    [Fact]
    public async Task A_call_for_an_idle_key_is_sent_at_once_and_alone_with_the_callers_token()
    {
        var send = new FakeSend();
        var coalescer = new RequestCoalescer<string, int, int>(8, send.SendAsync);
        using var caller = new CancellationTokenSource();

        var answer = coalescer.SendAsync("a", 1, caller.Token);

        var call = await send.NextAsync();
        Assert.Equal("a", call.Key);
        Assert.Equal([1], call.Requests);
        Assert.Equal(caller.Token, call.Token);
        FakeSend.Echo(call);
        Assert.Equal(10, await answer);
        Assert.Equal(0, coalescer.ActiveKeys);
    }

    [Fact]
    public async Task Calls_that_arrive_while_one_is_in_flight_go_together_in_one_send_after_it()
    {
        var send = new FakeSend();
        var coalescer = new RequestCoalescer<string, int, int>(8, send.SendAsync);

        var first = coalescer.SendAsync("a", 1, Ct);
        var leader = await send.NextAsync();
        var queued = Enumerable.Range(2, 3).Select(i => coalescer.SendAsync("a", i, Ct).AsTask()).ToArray();
        Assert.True(send.Calls.IsEmpty, "nothing else is sent while the first call is in flight");

        FakeSend.Echo(leader);
        var batch = await send.NextAsync();
        Assert.Equal([2, 3, 4], batch.Requests);
        Assert.False(batch.Token.CanBeCanceled, "a batch serves several callers, so no one caller's token cancels it");
        FakeSend.Echo(batch);

        Assert.Equal(10, await first);
        var answers = await Task.WhenAll(queued);
        Assert.Equal([20, 30, 40], answers);
        await Eventually.TrueAsync(() => coalescer.ActiveKeys == 0, because: "the key is idle again");
    }

    [Fact]
    public async Task Different_keys_do_not_wait_for_each_other()
    {
        var send = new FakeSend();
        var coalescer = new RequestCoalescer<string, int, int>(8, send.SendAsync);

        var a = coalescer.SendAsync("a", 1, Ct);
        var b = coalescer.SendAsync("b", 2, Ct);

        var first = await send.NextAsync();
        var second = await send.NextAsync();
        Assert.Equal(["a", "b"], new[] { first.Key, second.Key }.Order());
        FakeSend.Echo(first);
        FakeSend.Echo(second);
        Assert.Equal(10, await a);
        Assert.Equal(20, await b);
    }

    [Fact]
    public async Task A_long_queue_is_sent_in_batches_of_at_most_the_batch_size_in_arrival_order()
    {
        var send = new FakeSend();
        var coalescer = new RequestCoalescer<string, int, int>(2, send.SendAsync);

        var leader = coalescer.SendAsync("a", 0, Ct);
        var lead = await send.NextAsync();
        var queued = Enumerable.Range(1, 5).Select(i => coalescer.SendAsync("a", i, Ct).AsTask()).ToArray();
        FakeSend.Echo(lead);

        var batches = new List<int[]>();
        for (var i = 0; i < 3; i++)
        {
            var batch = await send.NextAsync();
            batches.Add(batch.Requests);
            FakeSend.Echo(batch);
        }

        Assert.Equal([[1, 2], [3, 4], [5]], batches);
        var answers = await Task.WhenAll(queued);
        Assert.Equal([10, 20, 30, 40, 50], answers);
        Assert.Equal(0, await leader);
    }

    [Fact]
    public async Task A_call_cancelled_while_queued_is_skipped_and_its_caller_sees_the_cancellation()
    {
        var send = new FakeSend();
        var coalescer = new RequestCoalescer<string, int, int>(8, send.SendAsync);
        using var cancel = new CancellationTokenSource();

        var leader = coalescer.SendAsync("a", 1, Ct);
        var lead = await send.NextAsync();
        var cancelled = coalescer.SendAsync("a", 2, cancel.Token).AsTask();
        var kept = coalescer.SendAsync("a", 3, Ct).AsTask();
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);

        FakeSend.Echo(lead);
        var batch = await send.NextAsync();
        Assert.Equal([3], batch.Requests);
        FakeSend.Echo(batch);
        Assert.Equal(30, await kept);
        Assert.Equal(10, await leader);
    }

    [Fact]
    public async Task A_failed_batch_fails_every_call_in_it_and_the_key_recovers()
    {
        var send = new FakeSend();
        var coalescer = new RequestCoalescer<string, int, int>(8, send.SendAsync);

        var leader = coalescer.SendAsync("a", 1, Ct);
        var lead = await send.NextAsync();
        var queued = new[] { coalescer.SendAsync("a", 2, Ct).AsTask(), coalescer.SendAsync("a", 3, Ct).AsTask() };
        lead.Answer.SetException(new InvalidOperationException("leader failed"));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await leader);

        var batch = await send.NextAsync();
        batch.Answer.SetException(new TimeoutException("batch failed"));
        foreach (var call in queued)
        {
            await Assert.ThrowsAsync<TimeoutException>(() => call);
        }

        await Eventually.TrueAsync(() => coalescer.ActiveKeys == 0, because: "the key is idle after the failure");
        var again = coalescer.SendAsync("a", 4, Ct);
        FakeSend.Echo(await send.NextAsync());
        Assert.Equal(40, await again);
    }
}
