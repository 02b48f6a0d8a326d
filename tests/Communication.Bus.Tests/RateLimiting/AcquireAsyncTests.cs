using Communication.Bus.RateLimiting;
using TestSupport;

namespace Communication.Bus.Tests.RateLimiting;

/// <summary>Waiting for a token up to a budget, on a fake clock.</summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class AcquireAsyncTests(RedisFixture redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Waits_for_the_retry_after_and_then_gets_the_token()
    {
        var clock = RedisFixture.FakeClock();
        using var tokens = ClientTimeBucket(clock);
        var bucket = RedisFixture.NewBucket();
        var rule = new TokenBucketRule(Capacity: 1, RefillPerSecond: 2);
        await tokens.TryAcquireAsync(bucket, rule, 1, Ct);

        var waiting = tokens.AcquireAsync(bucket, rule, 1, TimeSpan.FromSeconds(1), Ct).AsTask();
        await AdvanceUntilDone(clock, waiting, TimeSpan.FromMilliseconds(100));

        var decision = await waiting;
        Assert.True(decision.Allowed);
        Assert.False(decision.FromFallback);
        Assert.Equal(0, decision.Remaining);
    }

    [Fact]
    public async Task Never_waits_past_the_budget()
    {
        var clock = RedisFixture.FakeClock();
        using var tokens = ClientTimeBucket(clock);
        var bucket = RedisFixture.NewBucket();
        var rule = new TokenBucketRule(Capacity: 1, RefillPerSecond: 1);
        await tokens.TryAcquireAsync(bucket, rule, 1, Ct);

        // The token is back in 1 s; the budget is 999 ms: answer at once, without waiting.
        var started = clock.GetUtcNow();
        var decision = await tokens.AcquireAsync(bucket, rule, 1, TimeSpan.FromMilliseconds(999), Ct).AsTask()
            .WaitAsync(TimeSpan.FromSeconds(10), Ct);

        Assert.False(decision.Allowed);
        Assert.Equal(TimeSpan.FromSeconds(1), decision.RetryAfter);
        Assert.Equal(started, clock.GetUtcNow());
    }

    [Fact]
    public async Task Gives_up_when_the_budget_runs_out_while_others_take_the_tokens()
    {
        var clock = WatchedClock();
        var started = clock.GetUtcNow();
        using var tokens = ClientTimeBucket(clock);
        var bucket = RedisFixture.NewBucket();
        var rule = new TokenBucketRule(Capacity: 5, RefillPerSecond: 10);
        await tokens.TryAcquireAsync(bucket, rule, 5, Ct);

        // Needs all 5 tokens (500 ms of refill) within 700 ms, but another replica takes every
        // token as it comes back, so the bucket never fills up. The clock moves only while the
        // waiter is asleep on it.
        var waiting = tokens.AcquireAsync(bucket, rule, 5, TimeSpan.FromMilliseconds(700), Ct).AsTask();
        while (clock.GetUtcNow() - started < TimeSpan.FromSeconds(5))
        {
            await Eventually.TrueAsync(() => waiting.IsCompleted || clock.Asleep > 0, TimeSpan.FromSeconds(10),
                "the acquire should either answer or wait on the clock");
            if (waiting.IsCompleted)
            {
                break;
            }

            clock.Advance(TimeSpan.FromMilliseconds(50));
            await tokens.TryAcquireAsync(bucket, rule, 1, Ct);
        }

        var decision = await waiting.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.False(decision.Allowed);
        // It waited once (500 ms), then saw that the next try could not fit in the 700 ms budget.
        Assert.Equal([TimeSpan.FromMilliseconds(500)], clock.Sleeps);
        Assert.InRange(clock.GetUtcNow() - started, TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(550));
    }

    [Fact]
    public async Task Honours_cancellation_while_waiting()
    {
        var clock = WatchedClock();
        using var tokens = ClientTimeBucket(clock);
        var bucket = RedisFixture.NewBucket();
        var rule = new TokenBucketRule(Capacity: 1, RefillPerSecond: 0.01);
        await tokens.TryAcquireAsync(bucket, rule, 1, Ct);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);

        // The token is back in 100 s: the acquire sleeps that long on the clock, and is still waiting.
        var waiting = tokens.AcquireAsync(bucket, rule, 1, TimeSpan.FromHours(1), cancel.Token).AsTask();
        await Eventually.TrueAsync(() => waiting.IsCompleted || clock.Asleep > 0, TimeSpan.FromSeconds(10),
            "the acquire should wait on the clock for the token");
        Assert.False(waiting.IsCompleted);
        Assert.Equal([TimeSpan.FromSeconds(100)], clock.Sleeps);

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(10), Ct));
        Assert.Equal(0, clock.Asleep);
    }

    private static SleepWatchingClock WatchedClock() => new(RedisFixture.FakeClock().GetUtcNow());

    private DistributedTokenBucket ClientTimeBucket(TimeProvider clock) => redis.CreateBucket(o =>
    {
        o.TimeSource = TokenBucketTimeSource.Client;
        // The test moves the fake clock while calls may be in flight: no command timeout on it.
        o.CommandTimeout = Timeout.InfiniteTimeSpan;
    }, clock);

    private static async Task AdvanceUntilDone(Microsoft.Extensions.Time.Testing.FakeTimeProvider clock, Task task, TimeSpan step)
    {
        await Eventually.TrueAsync(() =>
        {
            if (!task.IsCompleted)
            {
                clock.Advance(step);
            }

            return task.IsCompleted;
        }, TimeSpan.FromSeconds(10), "the waiting acquire should complete once the clock moves");
    }
}
