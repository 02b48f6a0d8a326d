using System.Net;
using System.Threading.RateLimiting;
using Communication.Bus.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace Communication.Bus.Tests.RateLimiting;

/// <summary>The <see cref="RateLimiter"/> adapters, directly and inside ASP.NET Core's rate limiting middleware.</summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class RateLimiterAdapterTests(RedisFixture redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AcquireAsync_denies_over_the_limit_with_retry_after_metadata_and_counts_leases()
    {
        using var tokens = redis.CreateBucket();
        using var limiter = new DistributedTokenBucketRateLimiter(tokens, RedisFixture.NewBucket(), new TokenBucketRule(Capacity: 2, RefillPerSecond: 0.1));

        using var first = await limiter.AcquireAsync(1, Ct);
        using var second = await limiter.AcquireAsync(1, Ct);
        using var third = await limiter.AcquireAsync(1, Ct);

        Assert.True(first.IsAcquired);
        Assert.True(second.IsAcquired);
        Assert.False(third.IsAcquired);
        Assert.True(third.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter));
        Assert.InRange(retryAfter, TimeSpan.FromSeconds(9), TimeSpan.FromSeconds(10)); // one token per 10 s
        Assert.True(third.TryGetMetadata(MetadataName.ReasonPhrase, out var reason));
        Assert.Equal("Token bucket empty.", reason);
        Assert.True(third.TryGetMetadata(DistributedRateLimitMetadata.Decision, out var decision));
        Assert.Equal(0, decision.Remaining);
        Assert.Contains(MetadataName.RetryAfter.Name, third.MetadataNames);

        var statistics = limiter.GetStatistics()!;
        Assert.Equal(2, statistics.TotalSuccessfulLeases);
        Assert.Equal(1, statistics.TotalFailedLeases);
        Assert.Equal(0, statistics.CurrentAvailablePermits);
        Assert.Equal(0, statistics.CurrentQueuedCount);
        Assert.Throws<ArgumentOutOfRangeException>(() => limiter.AttemptAcquire(3));
    }

    [Fact]
    public async Task AttemptAcquire_never_grants_without_Redis_and_says_why()
    {
        using var tokens = redis.CreateBucket();
        var bucket = RedisFixture.NewBucket();
        using var limiter = new DistributedTokenBucketRateLimiter(tokens, bucket, new TokenBucketRule(Capacity: 1, RefillPerSecond: 0.1));

        using var attempt = limiter.AttemptAcquire(1);
        Assert.False(attempt.IsAcquired);
        Assert.False(attempt.TryGetMetadata(MetadataName.RetryAfter, out _)); // nothing known yet
        Assert.True(attempt.TryGetMetadata(MetadataName.ReasonPhrase, out var reason));
        Assert.Contains("AcquireAsync", reason, StringComparison.Ordinal);
        Assert.False(await redis.Redis.GetDatabase().KeyExistsAsync(tokens.KeyFor(bucket)), "AttemptAcquire must not touch Redis");
        Assert.Equal(0, limiter.GetStatistics()!.TotalFailedLeases);

        // Once Redis said the bucket is empty for a while, a synchronous attempt reports that wait.
        using var granted = await limiter.AcquireAsync(1, Ct);
        using var denied = await limiter.AcquireAsync(1, Ct);
        Assert.False(denied.IsAcquired);
        using var later = limiter.AttemptAcquire(1);
        Assert.True(later.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter));
        Assert.InRange(retryAfter, TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task AcquireAsync_waits_up_to_MaxWait_for_a_refill()
    {
        using var tokens = redis.CreateBucket();
        var rule = new TokenBucketRule(Capacity: 1, RefillPerSecond: 20);
        using var waiting = new DistributedTokenBucketRateLimiter(tokens, RedisFixture.NewBucket(), rule,
            new DistributedRateLimiterOptions { MaxWait = TimeSpan.FromSeconds(5) });
        var noQueueBucket = RedisFixture.NewBucket();
        using var noQueue = new DistributedTokenBucketRateLimiter(tokens, noQueueBucket, rule,
            new DistributedRateLimiterOptions { MaxWait = TimeSpan.FromSeconds(5), QueueLimit = 0 });

        using var first = await waiting.AcquireAsync(1, Ct);
        using var second = await waiting.AcquireAsync(1, Ct); // the bucket is empty: waits ~50 ms for the refill
        Assert.True(first.IsAcquired);
        Assert.True(second.IsAcquired);

        using var taken = await noQueue.AcquireAsync(1, Ct);
        using var notQueued = await noQueue.AcquireAsync(1, Ct); // queue limit 0: decided at once
        Assert.True(taken.IsAcquired);
        Assert.False(notQueued.IsAcquired);
    }

    [Fact]
    public async Task Disposing_the_limiter_releases_waiters_with_a_failed_lease()
    {
        using var tokens = redis.CreateBucket();
        var limiter = new DistributedTokenBucketRateLimiter(tokens, RedisFixture.NewBucket(), new TokenBucketRule(Capacity: 1, RefillPerSecond: 0.01),
            new DistributedRateLimiterOptions { MaxWait = TimeSpan.FromMinutes(5) });
        using var first = await limiter.AcquireAsync(1, Ct);

        var waiting = limiter.AcquireAsync(1, Ct).AsTask();
        await TestSupport.Eventually.TrueAsync(() => limiter.GetStatistics()!.CurrentQueuedCount == 1);
        Assert.Null(limiter.IdleDuration);
        limiter.Dispose();

        using var lease = await waiting.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.False(lease.IsAcquired);
        Assert.Throws<ObjectDisposedException>(() => limiter.AttemptAcquire(1));
    }

    [Fact]
    public async Task The_aspnetcore_middleware_answers_429_with_Retry_After_over_the_limit()
    {
        var bucket = RedisFixture.NewBucket();
        await using var app = await StartAppAsync(options => options.AddPolicy("model", context =>
            RateLimitPartition.Get("gemini", _ => new DistributedTokenBucketRateLimiter(
                context.RequestServices.GetRequiredService<IDistributedTokenBucket>(), bucket,
                new TokenBucketRule(Capacity: 3, RefillPerSecond: 0.05)))));
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            using var response = await http.GetAsync("/limited", Ct);
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Assert.InRange(int.Parse(response.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture), 1, 20);
                Assert.Equal("0", response.Headers.GetValues("RateLimit-Remaining").Single());
            }
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
    }

    [Fact]
    public async Task The_partitioned_adapter_keeps_partitions_apart()
    {
        var prefix = RedisFixture.NewBucket();
        var rule = new TokenBucketRule(Capacity: 2, RefillPerSecond: 0.05);
        await using var app = await StartAppAsync(
            configure: null,
            global: tokens => new DistributedPartitionedRateLimiter<HttpContext>(tokens,
                context => new TokenBucketPartition($"{prefix}:{context.Request.Headers["X-Tenant"]}", rule)));
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

        async Task<HttpStatusCode> Get(string tenant)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/open");
            request.Headers.Add("X-Tenant", tenant);
            using var response = await http.SendAsync(request, Ct);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, await Get("a"));
        Assert.Equal(HttpStatusCode.OK, await Get("a"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await Get("a"));
        Assert.Equal(HttpStatusCode.OK, await Get("b"));
        Assert.Equal(HttpStatusCode.OK, await Get("b"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await Get("b"));

        var redisDb = redis.Redis.GetDatabase();
        Assert.True(await redisDb.KeyExistsAsync($"ratelimit:{{{prefix}:a}}"));
        Assert.True(await redisDb.KeyExistsAsync($"ratelimit:{{{prefix}:b}}"));
    }

    [Fact]
    public async Task The_partitioned_adapter_reports_per_partition_statistics()
    {
        using var tokens = redis.CreateBucket();
        var prefix = RedisFixture.NewBucket();
        var rule = new TokenBucketRule(Capacity: 3, RefillPerSecond: 0.05);
        using var limiter = new DistributedPartitionedRateLimiter<string>(tokens, tenant => new TokenBucketPartition($"{prefix}:{tenant}", rule));

        using var a1 = await limiter.AcquireAsync("a", 2, Ct);
        using var b1 = await limiter.AcquireAsync("b", 1, Ct);

        Assert.Equal(1, limiter.GetStatistics("a")!.CurrentAvailablePermits);
        Assert.Equal(2, limiter.GetStatistics("b")!.CurrentAvailablePermits);
        Assert.False(limiter.AttemptAcquire("a").IsAcquired);
    }

    private async Task<WebApplication> StartAppAsync(
        Action<RateLimiterOptions>? configure,
        Func<IDistributedTokenBucket, PartitionedRateLimiter<HttpContext>>? global = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton<IConnectionMultiplexer>(redis.Redis);
        builder.AddDistributedRateLimiting();
        builder.Services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.OnRejected = (context, _) =>
            {
                if (context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter))
                {
                    context.HttpContext.Response.Headers.RetryAfter =
                        ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                }

                if (context.Lease.TryGetMetadata(DistributedRateLimitMetadata.Decision, out var decision))
                {
                    context.HttpContext.Response.Headers["RateLimit-Remaining"] =
                        decision.Remaining.ToString(System.Globalization.CultureInfo.InvariantCulture);
                }

                return ValueTask.CompletedTask;
            };
            configure?.Invoke(options);
        });
        if (global is not null)
        {
            builder.Services.AddOptions<RateLimiterOptions>()
                .Configure<IDistributedTokenBucket>((options, tokens) => options.GlobalLimiter = global(tokens));
        }

        var app = builder.Build();
        app.UseRateLimiter();
        if (configure is not null)
        {
            app.MapGet("/limited", () => "ok").RequireRateLimiting("model");
        }

        app.MapGet("/open", () => "ok");
        await app.StartAsync(Ct);
        return app;
    }
}
