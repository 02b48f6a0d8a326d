using System.Collections.Concurrent;
using System.Text.Json;
using Communication.Bus.Contracts;
using TestSupport;
using static Orchestration.Api.Tests.Integration.OrchestrationClient;

namespace Orchestration.Api.Tests.Integration;

/// <summary>Two replicas of the service on one Redis, sharing the results topic, the timers and the runs.</summary>
[Trait("Category", "Cluster")]
public sealed class ReplicaTests : IntegrationTest
{
    private const int Runs = 30;
    private static readonly string[] StepIds = ["s1", "s2", "s3"];

    /// <summary>How far the runs got: the timeout message lists the ones that have not succeeded.</summary>
    private sealed record Progress(int Succeeded, string NotSucceeded)
    {
        public static Progress Of(List<JsonElement> runs) => new(
            runs.Count(r => Status(r) == "SUCCEEDED"),
            string.Join(", ", runs.Where(r => Status(r) != "SUCCEEDED").Select(r => $"{r.GetProperty("runId").GetString()} {Status(r)}")));
    }

    [Fact]
    public async Task Many_runs_on_two_replicas_all_succeed_with_every_step_attempt_executed_once()
    {
        await using var second = new ServiceFactory<Program>(Redis.ConnectionString, FastTimings());
        using var secondApi = second.CreateAuthorizedClient();
        HttpClient[] replicas = [Api, secondApi];

        // About a quarter of the steps fail their first attempt (retryable); answers take 0-150 ms.
        var failsFirst = new ConcurrentDictionary<(string RunId, string StepId), bool>();
        AgentAction Behaviour(AgentTask task)
        {
            var fails = failsFirst.GetOrAdd((task.RunId, task.StepId), _ => Random.Shared.Next(4) == 0);
            var delay = TimeSpan.FromMilliseconds(Random.Shared.Next(150));
            return (task.Attempt == 1 && fails ? AgentAction.Fail("first attempts of this step fail") : AgentAction.Succeed(new { task.StepId, task.Attempt })).After(delay);
        }

        var agents = new List<FakeAgent>();
        foreach (var id in new[] { "worker-a", "worker-b", "worker-c" })
        {
            agents.Add(await AgentAsync(id, Behaviour, "work"));
        }

        await Api.PutWorkflowAsync(Wf.Of("replicated", [.. StepIds.Select(s => Wf.Step(s, capability: "work", backoffMs: 100))]), Ct);

        var runIds = await Task.WhenAll(Enumerable.Range(0, Runs).Select(i => replicas[i % 2].StartRunAsync("replicated", new { i }, cancellationToken: Ct)));
        await Eventually.ValueAsync(async () => Progress.Of(await Api.ListRunsAsync("?workflowId=replicated&limit=200", Ct)), p => p.Succeeded == Runs,
            TimeSpan.FromMinutes(3), "every run succeeds (none stalls)", TimeSpan.FromMilliseconds(200));

        var expected = runIds.SelectMany(runId => StepIds.SelectMany(step =>
                Enumerable.Range(1, failsFirst[(runId, step)] ? 2 : 1).Select(attempt => new AttemptKey(runId, step, attempt, AgentTaskKind.Step))))
            .ToHashSet();
        var deliveries = FakeAgent.DeliveryCounts(agents);
        Assert.Equal(Runs, runIds.Distinct().Count());
        Assert.Contains(failsFirst.Values, fails => fails); // the retry path ran
        Assert.Empty(deliveries.Where(d => d.Value != 1).Select(d => $"{d.Key}: {d.Value} deliveries"));
        Assert.Empty(expected.Except(deliveries.Keys).Select(k => $"{k} was never delivered"));
        Assert.Empty(deliveries.Keys.Except(expected).Select(k => $"{k} was not expected"));
        foreach (var runId in runIds)
        {
            var run = await replicas[Random.Shared.Next(2)].GetRunAsync(runId, Ct);
            Assert.Equal("SUCCEEDED", Status(run));
            foreach (var step in StepIds)
            {
                var attempts = failsFirst[(runId, step)] ? 2 : 1;
                Assert.Equal(attempts, Step(run, step).GetProperty("attempts").GetInt32());
                Assert.Equal(attempts, Step(run, step).GetProperty("output").GetProperty("attempt").GetInt32());
            }
        }

        Assert.All(agents, a => Assert.Empty(a.Errors));
        var consumers = await RedisClient.GetDatabase().StreamConsumerInfoAsync(ResultsTopic.Stream, ResultsTopic.Group);
        Assert.True(consumers.Length >= 2, $"the results were consumed by {consumers.Length} replica(s)");
    }
}
