using System.Diagnostics;
using System.Net;
using static Orchestration.Api.Tests.Integration.OrchestrationClient;

namespace Orchestration.Api.Tests.Integration;

/// <summary><c>POST /api/workflows/{id}/runs?waitMs=</c>: the final state when the run ends within the wait, else 202.</summary>
public sealed class WaitForEndTests : IntegrationTest
{
    [Fact]
    public async Task A_run_that_ends_within_the_wait_returns_200_with_its_final_state()
    {
        var worker = await AgentAsync("worker", _ => AgentAction.Succeed(new { answer = 42 }).WhenReleased());
        await Api.PutWorkflowAsync(Wf.Of("wait", Wf.Step("s1", agent: "worker")), Ct);

        var start = Api.TryStartRunAsync("wait", waitMs: 90_000, cancellationToken: Ct);
        var task = await worker.WaitForTaskAsync(t => t.WorkflowId == "wait");
        var stillWaiting = !start.IsCompleted;
        task.Release();
        var (status, run) = await start;

        Assert.True(stillWaiting, "the start answered before the run could end");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(task.Task.RunId, run.GetProperty("runId").GetString());
        Assert.Equal("SUCCEEDED", Status(run));
        Assert.Equal(42, run.GetProperty("output").GetProperty("answer").GetInt32());
        Assert.Equal("SUCCEEDED", Step(run, "s1").GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_run_still_going_when_the_wait_ends_returns_202_with_its_id_and_status()
    {
        var worker = await AgentAsync("worker", _ => AgentAction.Silent);
        await Api.PutWorkflowAsync(Wf.Of("wait", Wf.Step("s1", agent: "worker")), Ct);

        var clock = Stopwatch.StartNew();
        var (status, accepted) = await Api.TryStartRunAsync("wait", waitMs: 500, cancellationToken: Ct);
        var waited = clock.Elapsed;

        Assert.Equal(HttpStatusCode.Accepted, status);
        Assert.Equal("RUNNING", Status(accepted));
        Assert.True(waited >= TimeSpan.FromMilliseconds(450), $"answered after {waited.TotalMilliseconds} ms, before the wait ended");
        var runId = accepted.GetProperty("runId").GetString()!;
        Assert.Equal("RUNNING", Status(await Api.GetRunAsync(runId, Ct)));
        await worker.WaitForTaskAsync(runId, "s1");
    }
}
