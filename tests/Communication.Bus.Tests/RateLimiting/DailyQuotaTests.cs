using Communication.Bus.RateLimiting;
using StackExchange.Redis;

namespace Communication.Bus.Tests.RateLimiting;

/// <summary>The daily quota, counted in the same script as the bucket.</summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class DailyQuotaTests(RedisFixture redis)
{
    private const string LosAngeles = "America/Los_Angeles";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Quota_is_exact_under_concurrency_from_eight_replicas()
    {
        var connections = new List<ConnectionMultiplexer>();
        var replicas = new List<DistributedTokenBucket>();
        for (var i = 0; i < 8; i++)
        {
            connections.Add(await redis.ConnectAsync());
            replicas.Add(redis.CreateBucket(redis: connections[i]));
        }

        try
        {
            var bucket = RedisFixture.NewBucket();
            // A bucket big enough that only the daily quota limits.
            var rule = new TokenBucketRule(Capacity: 1000, RefillPerSecond: 1) { DailyQuota = 100, DailyQuotaTimeZone = LosAngeles };

            var attempts = Enumerable.Range(0, 400)
                .Select(i => replicas[i % replicas.Count].TryAcquireAsync(bucket, rule, 1, Ct).AsTask());
            var decisions = await Task.WhenAll(attempts);

            Assert.Equal(100, decisions.Count(d => d.Allowed));
            Assert.All(decisions.Where(d => !d.Allowed), d =>
            {
                Assert.True(d.DailyQuotaExhausted);
                Assert.Equal(0, d.DailyRemaining);
                Assert.False(d.FromFallback);
            });
            Assert.Equal(Enumerable.Range(0, 100).Select(i => (long?)i).ToHashSet(),
                decisions.Where(d => d.Allowed).Select(d => d.DailyRemaining).ToHashSet());
        }
        finally
        {
            replicas.ForEach(r => r.Dispose());
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Window_rolls_over_at_midnight_of_the_configured_zone_on_a_23_hour_day()
    {
        // 2025-03-08 23:59 in Los Angeles (PST, UTC-8); the next day starts daylight-saving time.
        var clock = RedisFixture.FakeClock(new DateTimeOffset(2025, 3, 8, 23, 59, 0, TimeSpan.FromHours(-8)));
        using var tokens = redis.CreateBucket(o => o.TimeSource = TokenBucketTimeSource.Client, clock);
        var bucket = RedisFixture.NewBucket();
        var rule = new TokenBucketRule(Capacity: 10, RefillPerSecond: 10) { DailyQuota = 3, DailyQuotaTimeZone = LosAngeles };

        Assert.True((await tokens.TryAcquireAsync(bucket, rule, 3, Ct)).Allowed);
        var exhausted = await tokens.TryAcquireAsync(bucket, rule, 1, Ct);
        Assert.False(exhausted.Allowed);
        Assert.True(exhausted.DailyQuotaExhausted);
        Assert.Equal(0, exhausted.DailyRemaining);
        Assert.Equal(TimeSpan.FromMinutes(1), exhausted.RetryAfter);
        Assert.Equal(TimeSpan.FromMinutes(1), exhausted.DailyResetAfter);

        clock.Advance(TimeSpan.FromSeconds(60) - TimeSpan.FromMilliseconds(1));
        var lastMillisecond = await tokens.TryAcquireAsync(bucket, rule, 1, Ct);
        Assert.True(lastMillisecond.DailyQuotaExhausted);
        Assert.Equal(TimeSpan.FromMilliseconds(1), lastMillisecond.RetryAfter);

        clock.Advance(TimeSpan.FromMilliseconds(1)); // 2025-03-09 00:00 PST
        var newDay = await tokens.TryAcquireAsync(bucket, rule, 1, Ct);
        Assert.True(newDay.Allowed);
        Assert.Equal(2, newDay.DailyRemaining);
        // 2025-03-09 is 23 hours long in Los Angeles: the window ends at 2025-03-10 00:00 PDT.
        Assert.Equal(TimeSpan.FromHours(23), newDay.DailyResetAfter);
    }

    [Fact]
    public async Task A_25_hour_day_ends_at_the_next_local_midnight()
    {
        // 2025-11-02 00:00 PDT (UTC-7); clocks fall back at 02:00, so the day lasts 25 hours.
        var clock = RedisFixture.FakeClock(new DateTimeOffset(2025, 11, 2, 0, 0, 0, TimeSpan.FromHours(-7)));
        using var tokens = redis.CreateBucket(o => o.TimeSource = TokenBucketTimeSource.Client, clock);
        var bucket = RedisFixture.NewBucket();
        var rule = new TokenBucketRule(Capacity: 10, RefillPerSecond: 10) { DailyQuota = 1, DailyQuotaTimeZone = LosAngeles };

        var first = await tokens.TryAcquireAsync(bucket, rule, 1, Ct);
        Assert.Equal(TimeSpan.FromHours(25), first.DailyResetAfter);

        clock.Advance(TimeSpan.FromHours(24)); // 23:00 PST, still 2025-11-02
        Assert.True((await tokens.TryAcquireAsync(bucket, rule, 1, Ct)).DailyQuotaExhausted);

        clock.Advance(TimeSpan.FromHours(1)); // 2025-11-03 00:00 PST
        Assert.True((await tokens.TryAcquireAsync(bucket, rule, 1, Ct)).Allowed);
    }

    [Fact]
    public async Task The_zone_decides_the_reset_UTC_by_default()
    {
        // 23:59 UTC = 16:59 in Los Angeles (PDT).
        var clock = RedisFixture.FakeClock(new DateTimeOffset(2025, 7, 1, 23, 59, 0, TimeSpan.Zero));
        using var tokens = redis.CreateBucket(o => o.TimeSource = TokenBucketTimeSource.Client, clock);
        var utcBucket = RedisFixture.NewBucket();
        var laBucket = RedisFixture.NewBucket();
        var utcRule = new TokenBucketRule(Capacity: 10, RefillPerSecond: 10) { DailyQuota = 1 };
        var laRule = utcRule with { DailyQuotaTimeZone = LosAngeles };
        Assert.Equal(TokenBucketRule.UtcTimeZone, utcRule.DailyQuotaTimeZone);

        await tokens.TryAcquireAsync(utcBucket, utcRule, 1, Ct);
        await tokens.TryAcquireAsync(laBucket, laRule, 1, Ct);
        clock.Advance(TimeSpan.FromMinutes(2)); // 00:01 UTC

        Assert.True((await tokens.TryAcquireAsync(utcBucket, utcRule, 1, Ct)).Allowed);
        var la = await tokens.TryAcquireAsync(laBucket, laRule, 1, Ct);
        Assert.True(la.DailyQuotaExhausted);
        Assert.Equal(TimeSpan.FromHours(7) - TimeSpan.FromMinutes(1), la.RetryAfter); // until 00:00 PDT = 07:00 UTC
    }

    [Fact]
    public async Task Server_time_mode_picks_the_window_with_the_server_clock_and_keeps_the_key_until_it_ends()
    {
        using var tokens = redis.CreateBucket();
        var bucket = RedisFixture.NewBucket();
        var rule = new TokenBucketRule(Capacity: 10, RefillPerSecond: 100) { DailyQuota = 5, DailyQuotaTimeZone = LosAngeles };

        var decision = await tokens.TryAcquireAsync(bucket, rule, 2, Ct);

        var windows = DailyQuotaCalendar.Compute(DateTimeOffset.UtcNow, TimeZoneInfo.FindSystemTimeZoneById(LosAngeles));
        var expected = TimeSpan.FromMilliseconds(windows.End - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        Assert.Equal(3, decision.DailyRemaining);
        Assert.NotNull(decision.DailyResetAfter);
        Assert.InRange(decision.DailyResetAfter.Value, expected - TimeSpan.FromSeconds(5), expected + TimeSpan.FromSeconds(5));

        // The bucket alone would expire in about a second; the quota keeps the key until the day ends.
        var ttl = await redis.Redis.GetDatabase().KeyTimeToLiveAsync(tokens.KeyFor(bucket));
        Assert.NotNull(ttl);
        Assert.True(ttl.Value >= decision.DailyResetAfter.Value, $"TTL {ttl} should outlive the window ({decision.DailyResetAfter})");
    }

    [Fact]
    public async Task AcquireAsync_does_not_wait_for_an_exhausted_quota()
    {
        var clock = RedisFixture.FakeClock();
        using var tokens = redis.CreateBucket(o => o.TimeSource = TokenBucketTimeSource.Client, clock);
        var bucket = RedisFixture.NewBucket();
        var rule = new TokenBucketRule(Capacity: 10, RefillPerSecond: 10) { DailyQuota = 1 };
        await tokens.TryAcquireAsync(bucket, rule, 1, Ct);

        var task = tokens.AcquireAsync(bucket, rule, 1, TimeSpan.FromDays(2), Ct).AsTask();
        var decision = await task.WaitAsync(TimeSpan.FromSeconds(10), Ct);

        Assert.False(decision.Allowed);
        Assert.True(decision.DailyQuotaExhausted);
        Assert.Equal(TimeSpan.FromHours(12), decision.RetryAfter); // FakeClock starts at 12:00 UTC
    }
}
