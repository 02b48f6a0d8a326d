using System.Collections.Concurrent;
using StackExchange.Redis;
using TestSupport;
using static Orchestration.Api.Tests.Integration.OrchestrationClient;

namespace Orchestration.Api.Tests.Integration;

/// <summary>
/// Issue 12, "no single key becomes the bottleneck": the agent registry (<c>orch:{agents}*</c>) and the workflows listing
/// (<c>orch:workflows</c>) are single keys, kept unsharded because runs never write them. Redis' keyspace notifications
/// record every write while runs go through; a change that makes runs or steps write these keys fails here.
/// </summary>
public sealed class SharedKeyWriteTests : IntegrationTest
{
    private const int Runs = 20;
    private const int Steps = 5;
    private static readonly string[] Unsharded = ["orch:{agents}", "orch:{agents}:heartbeats", "orch:{agents}:status", "orch:workflows"];

    [Fact]
    public async Task Runs_never_write_the_agent_registry_or_the_workflows_listing_and_a_heartbeat_writes_one_field()
    {
        await AgentAsync("worker", capabilities: "work");
        await Api.PutWorkflowAsync(Wf.Of("five-steps", [.. Enumerable.Range(1, Steps).Select(i => Wf.Step($"s{i}", capability: "work"))]), Ct);

        await Redis.CommandAsync("CONFIG SET notify-keyspace-events KA");
        var writes = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var subscriber = RedisClient.GetSubscriber();
        await subscriber.SubscribeAsync(RedisChannel.Pattern("__keyspace@0__:*"),
            (channel, _) => writes.AddOrUpdate(channel.ToString()["__keyspace@0__:".Length..], 1, (_, n) => n + 1));
        await FlushNotificationsAsync(writes, "before");

        var runIds = await Task.WhenAll(Enumerable.Range(0, Runs).Select(i => Api.StartRunAsync("five-steps", new { i }, cancellationToken: Ct)));
        foreach (var runId in runIds)
        {
            Assert.Equal("SUCCEEDED", Status(await Api.WaitForRunAsync(runId, cancellationToken: Ct)));
        }

        await FlushNotificationsAsync(writes, "runs");
        var perRun = writes.ToDictionary();
        // The keys every run writes that are shared (no run id in their hash tag), and how often: for the docs.
        foreach (var (key, count) in perRun.Where(w => w.Value >= Runs && !runIds.Any(id => w.Key.Contains(id, StringComparison.Ordinal))).OrderBy(w => w.Key, StringComparer.Ordinal))
        {
            TestContext.Current.TestOutputHelper?.WriteLine($"{key}: {count} writes, {(double)count / Runs:0.##} per run");
        }

        Assert.Contains(perRun.Keys, key => key.StartsWith($"orch:run:{{{runIds[0]}}}", StringComparison.Ordinal)); // the notifications see the runs' writes
        Assert.Empty(Unsharded.Where(perRun.ContainsKey).Select(key => $"{key} written {perRun[key]} times by {Runs} runs"));

        writes.Clear();
        using var heartbeat = await Api.PostAsync("/api/agents/worker/heartbeat", content: null, Ct);
        heartbeat.EnsureSuccessStatusCode();
        await FlushNotificationsAsync(writes, "heartbeat");
        Assert.Equal(1, writes.GetValueOrDefault("orch:{agents}:heartbeats"));
        Assert.DoesNotContain("orch:{agents}", writes.Keys);
        Assert.DoesNotContain("orch:{agents}:status", writes.Keys);
    }

    // Notifications arrive in order on one connection: once a marker written now is seen, every earlier write was too.
    private async Task FlushNotificationsAsync(ConcurrentDictionary<string, int> writes, string phase)
    {
        var marker = $"test:marker:{phase}";
        await RedisClient.GetDatabase().StringSetAsync(marker, phase);
        await Eventually.TrueAsync(() => writes.ContainsKey(marker), because: $"the keyspace notification of the {phase} marker arrives");
        writes.TryRemove(marker, out _);
    }
}
