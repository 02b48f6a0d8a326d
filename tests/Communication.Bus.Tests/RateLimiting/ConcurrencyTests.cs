using System.Diagnostics;
using Communication.Bus.RateLimiting;
using StackExchange.Redis;

namespace Communication.Bus.Tests.RateLimiting;

/// <summary>Many replicas, one bucket: the limit holds across them (the per-replica-memory failure mode).</summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class ConcurrencyTests(RedisFixture redis)
{
    [Fact]
    public async Task Eight_replicas_hammering_one_bucket_never_exceed_capacity_plus_refill()
    {
        var ct = TestContext.Current.CancellationToken;
        const int Replicas = 8;
        const int InFlightPerReplica = 4;
        var rule = new TokenBucketRule(Capacity: 20, RefillPerSecond: 50);
        var bucket = RedisFixture.NewBucket();

        var connections = new List<ConnectionMultiplexer>();
        var tokenBuckets = new List<DistributedTokenBucket>();
        for (var i = 0; i < Replicas; i++)
        {
            connections.Add(await redis.ConnectAsync());
            tokenBuckets.Add(redis.CreateBucket(redis: connections[i]));
        }

        long allowed = 0, denied = 0, fallback = 0;
        var clock = Stopwatch.StartNew();
        var runFor = TimeSpan.FromSeconds(1.5);
        var workers = tokenBuckets.SelectMany(tokens => Enumerable.Range(0, InFlightPerReplica).Select(_ => Task.Run(async () =>
        {
            while (clock.Elapsed < runFor)
            {
                var decision = await tokens.TryAcquireAsync(bucket, rule, 1, ct);
                Interlocked.Increment(ref decision.Allowed ? ref allowed : ref denied);
                if (decision.FromFallback)
                {
                    Interlocked.Increment(ref fallback);
                }
            }
        }, ct)));
        await Task.WhenAll(workers);
        var elapsed = clock.Elapsed;

        tokenBuckets.ForEach(t => t.Dispose());
        foreach (var connection in connections)
        {
            await connection.DisposeAsync();
        }

        var ceiling = rule.Capacity + (long)Math.Ceiling(rule.RefillPerSecond * elapsed.TotalSeconds);
        Assert.Equal(0, fallback);
        Assert.True(denied > allowed, $"the replicas should have asked for far more than the limit (allowed {allowed}, denied {denied})");
        Assert.True(allowed <= ceiling, $"allowed {allowed} > capacity + refill × {elapsed.TotalSeconds:F3} s = {ceiling}");
        // And the bucket is really used, not just denying: at least the burst plus half the refill.
        Assert.True(allowed >= rule.Capacity + (long)(rule.RefillPerSecond * runFor.TotalSeconds / 2), $"allowed only {allowed}");
    }
}
