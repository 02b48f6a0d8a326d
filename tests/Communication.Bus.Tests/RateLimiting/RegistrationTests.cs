using Communication.Bus.RateLimiting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Communication.Bus.Tests.RateLimiting;

/// <summary>Registration, configuration binding and start-up validation.</summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class RegistrationTests(RedisFixture redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Binds_the_Bus_RateLimiting_section_and_registers_the_bucket()
    {
        using var host = Build(new()
        {
            ["Bus:RateLimiting:KeyPrefix"] = "rl-bound:",
            ["Bus:RateLimiting:TimeSource"] = "Client",
            ["Bus:RateLimiting:FailurePolicy"] = "FailClosed",
            ["Bus:RateLimiting:CommandTimeout"] = "00:00:00.250",
            ["Bus:RateLimiting:CircuitBreaker:BreakDuration"] = "00:00:07",
            ["Bus:RateLimiting:CircuitBreaker:MinimumThroughput"] = "3",
            ["Bus:RateLimiting:MaxBatchSize"] = "8",
        }, o => o.CircuitBreaker.FailureRatio = 0.75);
        await host.StartAsync(Ct);

        var options = host.Services.GetRequiredService<IOptions<TokenBucketOptions>>().Value;
        Assert.Equal("rl-bound:", options.KeyPrefix);
        Assert.Equal(TokenBucketTimeSource.Client, options.TimeSource);
        Assert.Equal(RateLimitFailurePolicy.FailClosed, options.FailurePolicy);
        Assert.Equal(TimeSpan.FromMilliseconds(250), options.CommandTimeout);
        Assert.Equal(TimeSpan.FromSeconds(7), options.CircuitBreaker.BreakDuration);
        Assert.Equal(3, options.CircuitBreaker.MinimumThroughput);
        Assert.Equal(8, options.MaxBatchSize);
        Assert.Equal(0.75, options.CircuitBreaker.FailureRatio);

        var tokens = host.Services.GetRequiredService<IDistributedTokenBucket>();
        Assert.Same(host.Services.GetRequiredService<DistributedTokenBucket>(), tokens);
        var bucket = RedisFixture.NewBucket();
        Assert.True((await tokens.TryAcquireAsync(bucket, new TokenBucketRule(2, 1), 1, Ct)).Allowed);
        Assert.True(await redis.Redis.GetDatabase().KeyExistsAsync($"rl-bound:{{{bucket}}}"));
        await host.StopAsync(Ct);
    }

    [Fact]
    public void Defaults_are_documented_ones()
    {
        var options = new TokenBucketOptions();
        Assert.Equal("ratelimit:", options.KeyPrefix);
        Assert.Equal(TokenBucketTimeSource.Server, options.TimeSource);
        Assert.Equal(RateLimitFailurePolicy.FailOpen, options.FailurePolicy);
        Assert.Equal(TimeSpan.FromSeconds(1), options.CommandTimeout);
        Assert.Equal(64, options.MaxBatchSize);
        Assert.Equal(0.5, options.CircuitBreaker.FailureRatio);
        Assert.Equal(5, options.CircuitBreaker.MinimumThroughput);
        Assert.Equal(TimeSpan.FromSeconds(10), options.CircuitBreaker.SamplingDuration);
        Assert.Equal(TimeSpan.FromSeconds(5), options.CircuitBreaker.BreakDuration);
    }

    [Fact]
    public async Task Invalid_options_fail_at_start_up_with_every_problem_named()
    {
        using var host = Build(new()
        {
            ["Bus:RateLimiting:KeyPrefix"] = "bad{prefix}",
            ["Bus:RateLimiting:CommandTimeout"] = "00:00:00",
            ["Bus:RateLimiting:MaxBatchSize"] = "0",
            ["Bus:RateLimiting:CircuitBreaker:MinimumThroughput"] = "1",
            ["Bus:RateLimiting:CircuitBreaker:BreakDuration"] = "00:00:00.100",
        });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Ct));

        Assert.Contains(error.Failures, f => f.Contains(nameof(TokenBucketOptions.KeyPrefix), StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains(nameof(TokenBucketOptions.CommandTimeout), StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains(nameof(TokenBucketOptions.MaxBatchSize), StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains(nameof(TokenBucketCircuitBreakerOptions.MinimumThroughput), StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains(nameof(TokenBucketCircuitBreakerOptions.BreakDuration), StringComparison.Ordinal));
    }

    [Fact]
    public void The_constructor_validates_options_too()
    {
        Assert.Throws<OptionsValidationException>(() =>
            new DistributedTokenBucket(redis.Redis, new TokenBucketOptions { FailurePolicy = (RateLimitFailurePolicy)42 }));
    }

    private IHost Build(Dictionary<string, string?> settings, Action<TokenBucketOptions>? configure = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddSingleton<IConnectionMultiplexer>(redis.Redis);
        builder.AddDistributedRateLimiting(configure);
        return builder.Build();
    }
}
