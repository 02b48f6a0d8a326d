using Communication.Bus.RateLimiting;
using Microsoft.Extensions.Time.Testing;
using Polly.CircuitBreaker;
using StackExchange.Redis;
using TestSupport;

namespace Communication.Bus.Tests.RateLimiting;

/// <summary>Redis down or hung: the failure policy, the local limiter and the circuit breaker. Each test has its own server.</summary>
public sealed class FailurePolicyTests
{
    private static readonly TimeSpan BreakDuration = TimeSpan.FromSeconds(30);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Fail_open_decides_with_the_local_limiter_and_the_breaker_stops_calling_a_dead_Redis()
    {
        var server = await RedisServer.StartAsync();
        await using var connection = await ConnectFailFastAsync(server);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var meters = new TestMeterFactory();
        using var counters = new CounterRecorder(meters);
        using var tokens = new DistributedTokenBucket(connection, Options(RateLimitFailurePolicy.FailOpen), clock, meters);
        var bucket = RedisFixture.NewBucket();
        var rule = new TokenBucketRule(Capacity: 3, RefillPerSecond: 0.01);

        var healthy = await tokens.TryAcquireAsync(bucket, rule, 1, Ct);
        Assert.False(healthy.FromFallback);
        Assert.Equal(CircuitState.Closed, tokens.CircuitState);

        await server.DisposeAsync();
        await Eventually.TrueAsync(() => !connection.IsConnected, because: "the client should notice the server is gone");

        var decisions = new List<RateLimitDecision>();
        for (var i = 0; i < 10; i++)
        {
            decisions.Add(await tokens.TryAcquireAsync(bucket, rule, 1, Ct));
        }

        Assert.All(decisions, d => Assert.True(d.FromFallback));
        // The local limiter has the same rule and starts full: 3 allowed, then denied with a retry-after.
        Assert.Equal([true, true, true, false, false, false, false, false, false, false], decisions.Select(d => d.Allowed));
        Assert.All(decisions.Skip(3), d => Assert.True(d.RetryAfter > TimeSpan.Zero));
        Assert.Null(decisions[0].DailyRemaining);

        Assert.Equal(CircuitState.Open, tokens.CircuitState);
        var errors = counters.Sum(RateLimitingTelemetry.RedisErrorsInstrument);
        Assert.InRange(errors, 1, 2); // the breaker opened after the first failure(s): the rest never reached Redis
        Assert.Equal(10, counters.Sum(RateLimitingTelemetry.FailOpenInstrument));
        Assert.Equal(10, counters.Sum(RateLimitingTelemetry.DecisionsInstrument, RateLimitingTelemetry.SourceTag, "fallback"));

        // After the break, exactly one call probes Redis again; it fails and the breaker re-opens.
        clock.Advance(BreakDuration + TimeSpan.FromSeconds(1));
        Assert.True((await tokens.TryAcquireAsync(bucket, rule, 1, Ct)).FromFallback);
        Assert.True((await tokens.TryAcquireAsync(bucket, rule, 1, Ct)).FromFallback);
        Assert.Equal(errors + 1, counters.Sum(RateLimitingTelemetry.RedisErrorsInstrument));
        Assert.Equal(CircuitState.Open, tokens.CircuitState);
    }

    [Fact]
    public async Task Fail_closed_denies_while_Redis_is_down()
    {
        var server = await RedisServer.StartAsync();
        await using var connection = await ConnectFailFastAsync(server);
        using var meters = new TestMeterFactory();
        using var counters = new CounterRecorder(meters);
        using var tokens = new DistributedTokenBucket(connection, Options(RateLimitFailurePolicy.FailClosed), new FakeTimeProvider(), meters);
        var bucket = RedisFixture.NewBucket();
        var rule = new TokenBucketRule(Capacity: 100, RefillPerSecond: 100);

        Assert.True((await tokens.TryAcquireAsync(bucket, rule, 1, Ct)).Allowed);
        await server.DisposeAsync();
        await Eventually.TrueAsync(() => !connection.IsConnected);

        for (var i = 0; i < 5; i++)
        {
            var denied = await tokens.TryAcquireAsync(bucket, rule, 1, Ct);
            Assert.False(denied.Allowed);
            Assert.True(denied.FromFallback);
            Assert.False(denied.DailyQuotaExhausted);
            Assert.Equal(BreakDuration, denied.RetryAfter);
        }

        Assert.Equal(5, counters.Sum(RateLimitingTelemetry.FailClosedInstrument));
        Assert.Equal(0, counters.Sum(RateLimitingTelemetry.FailOpenInstrument));
        Assert.Equal(5, counters.Sum(RateLimitingTelemetry.DecisionsInstrument, RateLimitingTelemetry.ReasonTag, "fail_closed"));
    }

    [Fact]
    public async Task A_hung_Redis_is_bounded_by_the_command_timeout()
    {
        await using var server = await RedisServer.StartAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString);
        using var meters = new TestMeterFactory();
        using var counters = new CounterRecorder(meters);
        using var tokens = new DistributedTokenBucket(connection, new TokenBucketOptions { CommandTimeout = TimeSpan.FromMilliseconds(200) }, meterFactory: meters);
        var bucket = RedisFixture.NewBucket();
        var rule = new TokenBucketRule(Capacity: 10, RefillPerSecond: 1);
        Assert.False((await tokens.TryAcquireAsync(bucket, rule, 1, Ct)).FromFallback);

        Assert.Equal("+OK", await server.CommandAsync("CLIENT PAUSE 3000 ALL"));
        var decision = await tokens.TryAcquireAsync(bucket, rule, 1, Ct);

        // Bounded by the command timeout, not by the pause: the call gave up with a TimeoutException (a call that
        // waited out the pause would have been answered by Redis), no stopwatch needed.
        Assert.True(decision.FromFallback);
        Assert.True(decision.Allowed);
        Assert.Equal(1, counters.Sum(RateLimitingTelemetry.RedisErrorsInstrument, "error.type", typeof(TimeoutException).FullName));

        // When Redis answers again, so does the bucket (one timeout did not open the breaker).
        await Eventually.TrueAsync(async () => !(await tokens.TryAcquireAsync(bucket, rule, 0, Ct)).FromFallback, TimeSpan.FromSeconds(30));
    }

    private static TokenBucketOptions Options(RateLimitFailurePolicy policy) => new()
    {
        FailurePolicy = policy,
        CommandTimeout = Timeout.InfiniteTimeSpan, // the fake clock would never fire it
        CircuitBreaker = { MinimumThroughput = 2, FailureRatio = 0.5, BreakDuration = BreakDuration },
    };

    private static async Task<ConnectionMultiplexer> ConnectFailFastAsync(RedisServer server)
    {
        var configuration = ConfigurationOptions.Parse(server.ConnectionString);
        configuration.BacklogPolicy = BacklogPolicy.FailFast; // no queueing while disconnected: errors come at once
        configuration.ConnectTimeout = 1000;
        return await ConnectionMultiplexer.ConnectAsync(configuration);
    }
}
