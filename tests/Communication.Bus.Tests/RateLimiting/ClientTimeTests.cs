using Communication.Bus.RateLimiting;
using TestSupport;

namespace Communication.Bus.Tests.RateLimiting;

/// <summary>The time-passed-in mode, driven by a fake clock.</summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class ClientTimeTests(RedisFixture redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Refill_follows_the_passed_in_clock_to_the_millisecond()
    {
        var clock = RedisFixture.FakeClock();
        using var tokens = redis.CreateBucket(o => o.TimeSource = TokenBucketTimeSource.Client, clock);
        var bucket = RedisFixture.NewBucket();
        var rule = new TokenBucketRule(Capacity: 4, RefillPerSecond: 2);

        Assert.True((await tokens.TryAcquireAsync(bucket, rule, 4, Ct)).Allowed);
        var denied = await tokens.TryAcquireAsync(bucket, rule, 1, Ct);
        Assert.False(denied.Allowed);
        Assert.Equal(TimeSpan.FromMilliseconds(500), denied.RetryAfter);
        Assert.Equal(TimeSpan.FromSeconds(2), denied.ResetAfter);

        clock.Advance(TimeSpan.FromMilliseconds(499));
        var almost = await tokens.TryAcquireAsync(bucket, rule, 1, Ct);
        Assert.False(almost.Allowed);
        Assert.Equal(TimeSpan.FromMilliseconds(1), almost.RetryAfter);

        clock.Advance(TimeSpan.FromMilliseconds(1001));
        var refilled = await tokens.TryAcquireAsync(bucket, rule, 1, Ct);
        Assert.True(refilled.Allowed);
        Assert.Equal(2, refilled.Remaining); // 3 tokens back after 1.5 s, one taken

        clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(4, (await tokens.TryAcquireAsync(bucket, rule, 0, Ct)).Remaining); // never above capacity
    }

    [Fact]
    public async Task A_clock_going_backwards_neither_refills_nor_takes_away()
    {
        var clock = RedisFixture.FakeClock();
        using var tokens = redis.CreateBucket(o => o.TimeSource = TokenBucketTimeSource.Client, clock);
        var bucket = RedisFixture.NewBucket();
        var rule = new TokenBucketRule(Capacity: 10, RefillPerSecond: 1);

        await tokens.TryAcquireAsync(bucket, rule, 5, Ct);

        // Another replica whose clock is 30 s behind asks: no negative delta, no refill.
        clock.AdjustTime(clock.GetUtcNow() - TimeSpan.FromSeconds(30));
        var behind = await tokens.TryAcquireAsync(bucket, rule, 1, Ct);
        Assert.True(behind.Allowed);
        Assert.Equal(4, behind.Remaining);

        // Back in step, 2 s after the first call: refill counts from the stored last-refill time.
        clock.AdjustTime(clock.GetUtcNow() + TimeSpan.FromSeconds(32));
        Assert.Equal(6, (await tokens.TryAcquireAsync(bucket, rule, 0, Ct)).Remaining);
    }

    [Fact]
    public async Task Client_time_works_where_TIME_is_forbidden_in_scripts()
    {
        // Like ElastiCache Serverless: TIME cannot be called (here: renamed away).
        await using var server = await RedisServer.StartAsync("--rename-command", "TIME", "");
        await using var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(server.ConnectionString);
        var rule = new TokenBucketRule(Capacity: 2, RefillPerSecond: 1);

        using (var serverTime = redis.CreateBucket(o => o.FailurePolicy = RateLimitFailurePolicy.FailClosed, redis: connection))
        {
            var failed = await serverTime.TryAcquireAsync(RedisFixture.NewBucket(), rule, 1, Ct);
            Assert.False(failed.Allowed);
            Assert.True(failed.FromFallback);
        }

        using var clientTime = redis.CreateBucket(o => o.TimeSource = TokenBucketTimeSource.Client, redis: connection);
        var bucket = RedisFixture.NewBucket();
        var first = await clientTime.TryAcquireAsync(bucket, rule, 2, Ct);
        Assert.True(first.Allowed);
        Assert.False(first.FromFallback);
        var second = await clientTime.TryAcquireAsync(bucket, rule, 1, Ct);
        Assert.False(second.Allowed);
        Assert.False(second.FromFallback);
    }
}
