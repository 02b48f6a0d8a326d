using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using static Orchestration.Api.Tests.Integration.OrchestrationClient;

namespace Orchestration.Api.Tests.Integration;

/// <summary>Starting with an idempotency key: the same key is the same run, even when the starts race.</summary>
public sealed class IdempotentStartTests : IntegrationTest
{
    private async Task<List<string>> EventTypes(string runId)
    {
        // The run has ended, so its event stream is the whole history and then closes.
        var text = await Api.GetStringAsync($"/api/runs/{runId}/events", Ct);
        return [.. text.Split('\n').Where(l => l.StartsWith("event: ", StringComparison.Ordinal)).Select(l => l["event: ".Length..])];
    }

    [Fact]
    public async Task The_same_key_sequentially_and_concurrently_gives_the_same_run_id_and_one_run()
    {
        var worker = await AgentAsync("worker");
        await Api.PutWorkflowAsync(Wf.Of("idem", Wf.Step("s1", agent: "worker")), Ct);

        var (firstStatus, first) = await Api.TryStartRunAsync("idem", new { x = 1 }, "key-1", cancellationToken: Ct);
        var (againStatus, again) = await Api.TryStartRunAsync("idem", new { x = 1 }, "key-1", cancellationToken: Ct);
        var racing = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Api.TryStartRunAsync("idem", new { x = 2 }, "key-2", cancellationToken: Ct)));

        var sequentialId = first.GetProperty("runId").GetString()!;
        var racingIds = racing.Select(r => r.Body.GetProperty("runId").GetString()).Distinct().ToList();
        Assert.Equal(HttpStatusCode.Accepted, firstStatus);
        Assert.Contains(againStatus, new[] { HttpStatusCode.Accepted, HttpStatusCode.OK }); // 200 once the run has ended
        Assert.Equal(sequentialId, again.GetProperty("runId").GetString());
        Assert.All(racing, r => Assert.Contains(r.Status, new[] { HttpStatusCode.Accepted, HttpStatusCode.OK }));
        var racingId = Assert.Single(racingIds)!;
        Assert.NotEqual(sequentialId, racingId);

        foreach (var runId in new[] { sequentialId, racingId })
        {
            Assert.Equal("SUCCEEDED", Status(await Api.WaitForRunAsync(runId, cancellationToken: Ct)));
            Assert.Equal(["workflow_started", "step_started", "step_completed", "workflow_completed"], await EventTypes(runId));
            Assert.Equal(1, worker.Deliveries(runId, "s1"));
        }

        Assert.Equal(2, (await Api.ListRunsAsync("?workflowId=idem", Ct)).Count);
        Assert.Equal(2, worker.Received.Count);
    }

    [Fact]
    public async Task The_same_key_with_a_different_input_is_409_naming_the_run_and_changes_nothing()
    {
        var worker = await AgentAsync("worker", _ => AgentAction.Silent);
        await Api.PutWorkflowAsync(Wf.Of("idem", Wf.Step("s1", agent: "worker")), Ct);
        var runId = await Api.StartRunAsync("idem", new { x = 1 }, "key-1", Ct);

        using var conflict = await Api.PostAsJsonAsync("/api/workflows/idem/runs", new { input = new { x = 2 }, idempotencyKey = "key-1" }, Ct);

        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Equal("application/problem+json", conflict.Content.Headers.ContentType?.MediaType);
        var problem = await conflict.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal(runId, problem.GetProperty("runId").GetString());
        var run = await Api.GetRunAsync(runId, Ct);
        Assert.Equal(1, run.GetProperty("input").GetProperty("x").GetInt32());
        Assert.Single(await Api.ListRunsAsync("?workflowId=idem", Ct));
        await worker.WaitForTaskAsync(runId, "s1");
        Assert.Single(worker.Received);
    }
}
