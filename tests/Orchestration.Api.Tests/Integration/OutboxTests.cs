using StackExchange.Redis;
using TestSupport;
using static Orchestration.Api.Tests.Integration.OrchestrationClient;

namespace Orchestration.Api.Tests.Integration;

/// <summary>
/// The window a crash can hit between storing a transition and sending its task, made deterministic: the agent's
/// stream is swapped for a string, so the send fails after the commit; the task waits in the run's outbox and the
/// run's wakeup resends it once the stream is back, with the same message id.
/// </summary>
[Trait("Category", "Cluster")]
public sealed class OutboxTests : IntegrationTest
{
    private const string Stream = "bus:{agent.second}";
    private const string Parked = "bus:{agent.second}:parked";

    [Fact]
    public async Task A_task_stored_but_not_sent_is_resent_from_the_outbox_and_delivered_once()
    {
        await AgentAsync("first");
        var second = await AgentAsync("second");
        await Api.PutWorkflowAsync(Wf.Of("outbox", Wf.Step("s1", agent: "first"), Wf.Step("s2", agent: "second")), Ct);
        var db = RedisClient.GetDatabase();
        await db.ScriptEvaluateAsync("redis.call('RENAME', KEYS[1], KEYS[2]); redis.call('SET', KEYS[1], 'not a stream')", [Stream, Parked]);

        var runId = await Api.StartRunAsync("outbox", cancellationToken: Ct);
        RedisKey outbox = $"orch:run:{{{runId}}}:outbox";
        var stuck = await Api.WaitForRunAsync(runId, r => Step(r, "s2").GetProperty("status").GetString() == "RUNNING",
            because: "s2 is started (stored) although its task cannot be sent", cancellationToken: Ct);
        await Eventually.TrueAsync(async () => await db.HashLengthAsync(outbox) == 1, TimeSpan.FromSeconds(30), "the unsent task waits in the outbox");
        await db.ScriptEvaluateAsync("redis.call('DEL', KEYS[1]); redis.call('RENAME', KEYS[2], KEYS[1])", [Stream, Parked]);
        var run = await Api.WaitForRunAsync(runId, cancellationToken: Ct);
        await Eventually.TrueAsync(async () => await db.HashLengthAsync(outbox) == 0, TimeSpan.FromSeconds(30), "the outbox is emptied once the task is sent");

        Assert.Equal("SUCCEEDED", Status(run));
        Assert.Equal(1, Step(stuck, "s2").GetProperty("attempts").GetInt32());
        Assert.Equal(1, Step(run, "s2").GetProperty("attempts").GetInt32());
        Assert.Equal(1, second.Deliveries(runId, "s2"));
        Assert.Single(second.Received);
    }
}
