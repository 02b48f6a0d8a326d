using StackExchange.Redis;
using TestSupport;

namespace Communication.Bus.Tests;

/// <summary>
/// The cluster tier (<c>TEST_REDIS=cluster</c>, trait <c>Category=Cluster</c>) really runs on a 3-master cluster that
/// refuses multi-key commands across hash slots, so a key layout that is not cluster-safe fails there.
/// </summary>
[Trait("Category", "Cluster")]
public sealed class ClusterTierTests(RedisFixture redis)
{
    [Fact]
    public void The_fixture_is_a_three_master_cluster_in_the_cluster_tier_and_one_server_otherwise()
    {
        var primaries = redis.Connection.GetServers().Where(s => !s.IsReplica).ToList();
        if (TestRedis.IsCluster)
        {
            Assert.Equal(3, primaries.Count);
            Assert.All(primaries, s => Assert.Equal(ServerType.Cluster, s.ServerType));
        }
        else
        {
            Assert.Equal(ServerType.Standalone, Assert.Single(primaries).ServerType);
        }
    }

    [Fact]
    public async Task A_script_over_keys_of_two_hash_slots_is_refused_on_the_cluster()
    {
        Assert.SkipUnless(TestRedis.IsCluster, "only the cluster tier has hash slots");
        var db = redis.Connection.GetDatabase();
        var id = Guid.NewGuid().ToString("N");

        // Keys of one slot (same hash tag) work; "a" and "b" hash to different slots.
        Assert.Equal(2, (int)await db.ScriptEvaluateAsync("return #KEYS", [$"{{{id}}}:a", $"{{{id}}}:b"]));
        // StackExchange.Redis refuses it before sending (RedisCommandException); the server would answer CROSSSLOT.
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => db.ScriptEvaluateAsync("return #KEYS", [$"{id}:a", $"{id}:b"]));
        Assert.Contains("slot", refused.Message, StringComparison.OrdinalIgnoreCase);
    }
}
