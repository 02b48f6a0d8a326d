using System.Buffers.Binary;
using Communication.Bus.RateLimiting;
using StackExchange.Redis;
using TestSupport;

namespace Communication.Bus.Tests.RateLimiting;

/// <summary>The bucket itself, on the Redis server clock (the default mode).</summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class TokenBucketTests(RedisFixture redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Allows_within_capacity_then_denies_with_a_sensible_retry_after()
    {
        using var meters = new TestMeterFactory();
        using var counters = new CounterRecorder(meters);
        using var tokens = redis.CreateBucket(meters: meters);
        var bucket = RedisFixture.NewBucket();
        var rule = new TokenBucketRule(Capacity: 5, RefillPerSecond: 1);

        for (var expectedRemaining = 4; expectedRemaining >= 0; expectedRemaining--)
        {
            var granted = await tokens.TryAcquireAsync(bucket, rule, cancellationToken: Ct);
            Assert.True(granted.Allowed);
            Assert.Equal(expectedRemaining, granted.Remaining);
            Assert.Equal(TimeSpan.Zero, granted.RetryAfter);
            Assert.False(granted.FromFallback);
            Assert.Null(granted.DailyRemaining);
        }

        var denied = await tokens.TryAcquireAsync(bucket, rule, cancellationToken: Ct);
        Assert.False(denied.Allowed);
        Assert.False(denied.DailyQuotaExhausted);
        Assert.Equal(0, denied.Remaining);
        // One token refills per second; a few ms may have passed since the bucket was drained.
        Assert.InRange(denied.RetryAfter, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1));
        Assert.InRange(denied.ResetAfter, TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(5));

        Assert.Equal(5, counters.Sum(RateLimitingTelemetry.DecisionsInstrument, RateLimitingTelemetry.ResultTag, "allowed"));
        Assert.Equal(1, counters.Sum(RateLimitingTelemetry.DecisionsInstrument, RateLimitingTelemetry.ResultTag, "denied"));
        Assert.Equal(1, counters.Sum(RateLimitingTelemetry.DecisionsInstrument, RateLimitingTelemetry.ReasonTag, "bucket_empty"));
    }

    [Fact]
    public async Task Refills_over_time_on_the_server_clock()
    {
        using var tokens = redis.CreateBucket();
        var bucket = RedisFixture.NewBucket();
        var rule = new TokenBucketRule(Capacity: 2, RefillPerSecond: 20);

        Assert.True((await tokens.TryAcquireAsync(bucket, rule, 2, Ct)).Allowed);
        var denied = await tokens.TryAcquireAsync(bucket, rule, 2, Ct);
        Assert.False(denied.Allowed);
        Assert.InRange(denied.RetryAfter, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(100));

        // 20 tokens/s: two tokens are back within about 100 ms.
        await Eventually.TrueAsync(async () => (await tokens.TryAcquireAsync(bucket, rule, 2, Ct)).Allowed,
            TimeSpan.FromSeconds(5), "the bucket should refill");
    }

    [Fact]
    public async Task A_cost_above_one_takes_that_many_tokens()
    {
        using var tokens = redis.CreateBucket();
        var bucket = RedisFixture.NewBucket();
        var rule = new TokenBucketRule(Capacity: 10, RefillPerSecond: 0.001);

        Assert.Equal(6, (await tokens.TryAcquireAsync(bucket, rule, 4, Ct)).Remaining);
        Assert.Equal(2, (await tokens.TryAcquireAsync(bucket, rule, 4, Ct)).Remaining);

        var denied = await tokens.TryAcquireAsync(bucket, rule, 4, Ct);
        Assert.False(denied.Allowed);
        Assert.Equal(2, denied.Remaining);
        // Two tokens missing at 0.001 tokens/s: about 2 000 s.
        Assert.InRange(denied.RetryAfter, TimeSpan.FromSeconds(1990), TimeSpan.FromSeconds(2000));

        // The two left can still be taken one by one: a denial consumed nothing.
        Assert.True((await tokens.TryAcquireAsync(bucket, rule, 2, Ct)).Allowed);
    }

    [Fact]
    public async Task Arguments_that_can_never_work_are_rejected_before_Redis()
    {
        using var tokens = redis.CreateBucket();
        var rule = new TokenBucketRule(Capacity: 3, RefillPerSecond: 1);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await tokens.TryAcquireAsync("b", rule, 4, Ct));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await tokens.TryAcquireAsync("b", rule, -1, Ct));
        await Assert.ThrowsAsync<ArgumentException>(async () => await tokens.TryAcquireAsync("a{b}", rule, 1, Ct));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await tokens.TryAcquireAsync("b", rule with { RefillPerSecond = 0 }, 1, Ct));
        await Assert.ThrowsAsync<ArgumentException>(async () =>
            await tokens.TryAcquireAsync("b", rule with { DailyQuota = 5, DailyQuotaTimeZone = "Mars/Olympus_Mons" }, 1, Ct));
    }

    [Fact]
    public async Task A_cost_of_zero_peeks_without_consuming_or_writing()
    {
        using var tokens = redis.CreateBucket();
        var bucket = RedisFixture.NewBucket();
        var rule = new TokenBucketRule(Capacity: 3, RefillPerSecond: 0.001) { DailyQuota = 10 };
        var db = redis.Redis.GetDatabase();

        var fresh = await tokens.TryAcquireAsync(bucket, rule, 0, Ct);
        Assert.True(fresh.Allowed);
        Assert.Equal(3, fresh.Remaining);
        Assert.Equal(10, fresh.DailyRemaining);
        Assert.False(await db.KeyExistsAsync(tokens.KeyFor(bucket)), "a peek must not create the bucket");

        await tokens.TryAcquireAsync(bucket, rule, 2, Ct);
        for (var i = 0; i < 3; i++)
        {
            var peek = await tokens.TryAcquireAsync(bucket, rule, 0, Ct);
            Assert.True(peek.Allowed);
            Assert.Equal(1, peek.Remaining);
            Assert.Equal(8, peek.DailyRemaining);
        }

        await tokens.TryAcquireAsync(bucket, rule, 1, Ct);
        var empty = await tokens.TryAcquireAsync(bucket, rule, 0, Ct);
        Assert.False(empty.Allowed);
        Assert.Equal(0, empty.Remaining);
        Assert.InRange(empty.RetryAfter, TimeSpan.FromSeconds(990), TimeSpan.FromSeconds(1000));
        Assert.Equal(7, empty.DailyRemaining);
    }

    [Fact]
    public async Task One_hash_tagged_key_per_bucket_with_a_ttl_until_it_would_be_full()
    {
        using var tokens = redis.CreateBucket(o => o.KeyPrefix = "rl-test:");
        var bucket = RedisFixture.NewBucket();
        var db = redis.Redis.GetDatabase();

        await tokens.TryAcquireAsync(bucket, new TokenBucketRule(Capacity: 10, RefillPerSecond: 2), 4, Ct);

        var key = $"rl-test:{{{bucket}}}";
        Assert.Equal(key, tokens.KeyFor(bucket));
        Assert.Equal(RedisType.String, await db.KeyTypeAsync(key));
        // Five little-endian doubles: tokens, last refill (Unix ms), window start, end, used.
        var state = (byte[])(await db.StringGetAsync(key))!;
        Assert.Equal(40, state.Length);
        Assert.Equal(6, BinaryPrimitives.ReadDoubleLittleEndian(state.AsSpan(0, 8)));
        Assert.InRange(BinaryPrimitives.ReadDoubleLittleEndian(state.AsSpan(8, 8)),
            DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds());
        // Every primary (one server, or each master of the cluster tier).
        var keys = redis.Redis.GetServers().Where(s => !s.IsReplica)
            .SelectMany(s => s.Keys(pattern: $"*{bucket}*")).Select(k => (string)k!).ToList();
        Assert.Equal([key], keys);

        // 4 tokens missing at 2/s: full again after 2 s, plus 1 s of slack.
        var ttl = await db.KeyTimeToLiveAsync(key);
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task An_idle_bucket_vanishes_and_comes_back_full()
    {
        using var tokens = redis.CreateBucket();
        var bucket = RedisFixture.NewBucket();
        var rule = new TokenBucketRule(Capacity: 2, RefillPerSecond: 10);
        var db = redis.Redis.GetDatabase();

        await tokens.TryAcquireAsync(bucket, rule, 2, Ct);
        Assert.True(await db.KeyExistsAsync(tokens.KeyFor(bucket)));

        // Full after 200 ms, expires 1 s later.
        await Eventually.TrueAsync(async () => !await db.KeyExistsAsync(tokens.KeyFor(bucket)), TimeSpan.FromSeconds(10));
        Assert.Equal(2, (await tokens.TryAcquireAsync(bucket, rule, 0, Ct)).Remaining);
    }

    [Fact]
    public async Task Survives_a_flushed_script_cache()
    {
        using var tokens = redis.CreateBucket();
        var bucket = RedisFixture.NewBucket();
        var rule = new TokenBucketRule(Capacity: 3, RefillPerSecond: 0.001);

        Assert.True((await tokens.TryAcquireAsync(bucket, rule, cancellationToken: Ct)).Allowed);
        Assert.Equal("+OK", await redis.Server.CommandAsync("SCRIPT FLUSH"));

        var afterFlush = await tokens.TryAcquireAsync(bucket, rule, cancellationToken: Ct);
        Assert.True(afterFlush.Allowed);
        Assert.False(afterFlush.FromFallback);
        Assert.Equal(1, afterFlush.Remaining);
        // Loaded again on the server that holds the bucket (any master of the cluster tier).
        Assert.True((await redis.Redis.GetServer(redis.Redis.GetDatabase().IdentifyEndpoint(tokens.KeyFor(bucket))!).ScriptExistsAsync(TokenBucketScript.Source)));
    }

    [Fact]
    public async Task A_value_of_another_type_or_layout_is_replaced_by_a_full_bucket()
    {
        using var tokens = redis.CreateBucket();
        var db = redis.Redis.GetDatabase();
        var rule = new TokenBucketRule(Capacity: 3, RefillPerSecond: 0.001);
        var hashBucket = RedisFixture.NewBucket();
        var textBucket = RedisFixture.NewBucket();
        await db.HashSetAsync(tokens.KeyFor(hashBucket), "t", "0");
        await db.StringSetAsync(tokens.KeyFor(textBucket), "0 0 0 0 0");

        foreach (var bucket in new[] { hashBucket, textBucket })
        {
            var decision = await tokens.TryAcquireAsync(bucket, rule, 1, Ct);
            Assert.True(decision.Allowed);
            Assert.False(decision.FromFallback);
            Assert.Equal(2, decision.Remaining);
            Assert.Equal(RedisType.String, await db.KeyTypeAsync(tokens.KeyFor(bucket)));
        }
    }

    [Fact]
    public async Task Caller_cancellation_is_not_a_fallback()
    {
        using var tokens = redis.CreateBucket();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            await tokens.TryAcquireAsync(RedisFixture.NewBucket(), new TokenBucketRule(1, 1), 1, cancelled.Token));
    }
}
