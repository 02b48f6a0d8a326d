using Communication.Bus.RateLimiting;
using StackExchange.Redis;
using TestSupport;

namespace Communication.Bus.Tests.RateLimiting;

/// <summary>Concurrent calls for one bucket share script calls, with the same decisions.</summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class BatchingTests(RedisFixture redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(64, true)]
    [InlineData(1, false)]
    public async Task Concurrent_calls_for_one_bucket_share_script_calls_and_still_grant_exactly_the_capacity(int maxBatchSize, bool batched)
    {
        using var tokens = redis.CreateBucket(o => o.MaxBatchSize = maxBatchSize);
        var bucket = RedisFixture.NewBucket();
        var rule = new TokenBucketRule(Capacity: 10, RefillPerSecond: 0.001);
        await tokens.TryAcquireAsync(bucket, rule, 0, Ct); // loads the script
        var before = await ScriptCallsAsync();

        var decisions = await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => tokens.TryAcquireAsync(bucket, rule, 1, Ct).AsTask()));
        var calls = await ScriptCallsAsync() - before;

        Assert.Equal(10, decisions.Count(d => d.Allowed));
        Assert.All(decisions, d => Assert.False(d.FromFallback));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i).ToHashSet(), decisions.Where(d => d.Allowed).Select(d => d.Remaining).ToHashSet());
        if (batched)
        {
            Assert.InRange(calls, 2, 32);
        }
        else
        {
            Assert.Equal(64, calls);
        }
    }

    [Fact]
    public async Task A_call_cancelled_while_queued_takes_nothing()
    {
        await using var server = await RedisServer.StartAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString);
        using var tokens = redis.CreateBucket(o => o.CommandTimeout = Timeout.InfiniteTimeSpan, redis: connection);
        var bucket = RedisFixture.NewBucket();
        var rule = new TokenBucketRule(Capacity: 5, RefillPerSecond: 0.001);
        Assert.Equal(4, (await tokens.TryAcquireAsync(bucket, rule, 1, Ct)).Remaining);

        // Hold the next call in Redis so that the following ones queue behind it.
        Assert.Equal("+OK", await server.CommandAsync("CLIENT PAUSE 1000 ALL"));
        var leader = tokens.TryAcquireAsync(bucket, rule, 1, Ct).AsTask();
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var cancelled = tokens.TryAcquireAsync(bucket, rule, 2, cancel.Token).AsTask();
        var follower = tokens.TryAcquireAsync(bucket, rule, 1, Ct).AsTask();
        Assert.False(cancelled.IsCompleted);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.False(leader.IsCompleted, "the leader is still held by the paused server");
        Assert.Equal(3, (await leader).Remaining);
        Assert.Equal(2, (await follower).Remaining);
        Assert.Equal(2, (await tokens.TryAcquireAsync(bucket, rule, 0, Ct)).Remaining);
    }

    private async Task<long> ScriptCallsAsync()
    {
        await using var admin = await ConnectionMultiplexer.ConnectAsync(redis.Server.ConnectionString + ",allowAdmin=true");
        // Every primary: one server, or each master of the cluster tier.
        var stats = (await Task.WhenAll(admin.GetServers().Where(s => !s.IsReplica).Select(s => s.InfoAsync("commandstats"))))
            .SelectMany(info => info).SelectMany(group => group)
            .Where(pair => pair.Key is "cmdstat_evalsha" or "cmdstat_eval");
        return stats.Sum(pair => long.Parse(pair.Value.Split(',')[0]["calls=".Length..], System.Globalization.CultureInfo.InvariantCulture));
    }
}
