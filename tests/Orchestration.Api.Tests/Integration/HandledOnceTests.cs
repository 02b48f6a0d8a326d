using Communication.Bus;
using StackExchange.Redis;
using TestSupport;
using static Orchestration.Api.Tests.Integration.OrchestrationClient;

namespace Orchestration.Api.Tests.Integration;

/// <summary>
/// Issue 9, trust boundary (PROTOCOL §9a): someone who can write to Redis but holds no signing key can make an agent
/// execute a handled TASK again (by deleting or pre-setting the replay-protection keys and re-appending a signed copy),
/// but the orchestrator's attempt state decides whether a result counts, so the run does not change.
/// </summary>
[Trait("Category", "Cluster")]
public sealed class HandledOnceTests : IntegrationTest
{
    [Fact]
    public async Task A_handled_task_replayed_by_a_redis_writer_without_a_key_runs_again_but_changes_nothing()
    {
        var executions = 0;
        var worker = await AgentAsync("worker", _ => AgentAction.Succeed(new { execution = Interlocked.Increment(ref executions) }));
        var gate = await AgentAsync("gate", _ => AgentAction.Succeed(new { gate = true }).WhenReleased());
        await Api.PutWorkflowAsync(Wf.Of("replayed", Wf.Step("s1", agent: "worker", maxAttempts: 1), Wf.Step("s2", agent: "gate", maxAttempts: 1)), Ct);
        var runId = await Api.StartRunAsync("replayed", cancellationToken: Ct);
        var first = await worker.WaitForTaskAsync(runId, "s1");
        var held = await gate.WaitForTaskAsync(runId, "s2");
        var before = await Api.GetRunAsync(runId, Ct);

        // The writer: copies of the handled TASK, one after deleting the worker group's replay keys, one with its
        // 'seen' key pre-set so that the copy looks like a redelivery (which skips the timestamp check).
        var db = RedisClient.GetDatabase();
        var taskStream = $"bus:{{{worker.Topic}}}";
        var taskEntry = await EntryOfMessageAsync(db, taskStream, first.MessageId);
        await DeleteKeysAsync($"bus:{{{worker.Topic}}}:seen:*", $"bus:{{{worker.Topic}}}:done:*");
        await db.StreamAddAsync(taskStream, taskEntry.Values);
        await Eventually.TrueAsync(() => worker.Deliveries(runId, "s1") == 2, because: "the copy is delivered once the seen key is gone");
        var presetId = $"{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 1}-7";
        // The tasks are exactly-once: the first copy's handling sets the 'done' key again; the writer deletes it once more.
        var done = BusProtocol.DoneKey(worker.Topic, "worker", first.MessageId.ToLowerInvariant());
        await Eventually.TrueAsync(() => db.KeyExistsAsync(done), because: "the first copy is recorded as handled");
        await db.KeyDeleteAsync(done);
        await db.StringSetAsync(BusProtocol.SeenKey(worker.Topic, "worker", first.MessageId.ToLowerInvariant()), presetId);
        await db.ExecuteAsync("XADD", [taskStream, presetId, .. taskEntry.Values.SelectMany(v => new object[] { (string)v.Name!, (string)v.Value! })]);
        await Eventually.TrueAsync(() => worker.Deliveries(runId, "s1") == 3, because: "the copy with a pre-set seen key is delivered too");

        // Every answer to the copies (right sender, right correlation id, attempt 1) reaches the orchestrator ...
        foreach (var received in worker.Received.Where(r => r.Task.RunId == runId))
        {
            await WaitUntilHandledAsync(await received.Replied);
        }

        // ... and so does a copy of the first TASK_RESULT once the orchestrator's replay keys are gone.
        var firstReply = (await worker.Received.First(r => r.MessageId == first.MessageId).Replied)!;
        var resultEntry = await EntryOfMessageAsync(db, ResultsTopic.Stream, firstReply.MessageId);
        await DeleteKeysAsync("bus:{orchestration.results}:seen:*", "bus:{orchestration.results}:done:*");
        var copy = (string)(await db.StreamAddAsync(ResultsTopic.Stream, resultEntry.Values))!;
        await WaitUntilHandledAsync(firstReply with { EntryId = copy });

        var after = await Api.GetRunAsync(runId, Ct);
        held.Release();
        var run = await Api.WaitForRunAsync(runId, cancellationToken: Ct);

        Assert.Equal(3, executions);
        Assert.Equal(1, Step(before, "s1").GetProperty("output").GetProperty("execution").GetInt32());
        Assert.Equal(Step(before, "s1").GetRawText(), Step(after, "s1").GetRawText());
        Assert.Equal(1, Step(run, "s1").GetProperty("attempts").GetInt32());
        Assert.Equal(1, Step(run, "s1").GetProperty("output").GetProperty("execution").GetInt32());
        Assert.Equal("SUCCEEDED", Status(run));
        Assert.Empty(await db.StreamRangeAsync(BusProtocol.DeadLetterStreamKey("orchestration.results")));
    }

    private static async Task<StreamEntry> EntryOfMessageAsync(IDatabase db, string stream, string messageId) =>
        (await db.StreamRangeAsync(stream)).Single(e => e.Values.Any(v => v.Name == "id" && v.Value == messageId));

    private async Task DeleteKeysAsync(params string[] patterns)
    {
        // Every primary: one server, or each master of the cluster tier.
        foreach (var pattern in patterns)
        {
            foreach (var key in RedisClient.GetServers().Where(s => !s.IsReplica).SelectMany(s => s.Keys(pattern: pattern)))
            {
                await RedisClient.GetDatabase().KeyDeleteAsync(key);
            }
        }
    }
}
