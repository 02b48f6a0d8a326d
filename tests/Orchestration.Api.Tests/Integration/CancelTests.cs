using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Communication.Bus.Contracts;
using static Orchestration.Api.Tests.Integration.OrchestrationClient;

namespace Orchestration.Api.Tests.Integration;

/// <summary>Cancelling a run: it ends CANCELLED, late answers change nothing, completed steps are compensated.</summary>
[Trait("Category", "Cluster")]
public sealed class CancelTests : IntegrationTest
{
    private async Task<(HttpStatusCode Status, JsonElement Body)> CancelAsync(string runId)
    {
        using var response = await Api.PostAsync($"/api/runs/{runId}/cancel", null, Ct);
        return (response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>(Ct));
    }

    [Fact]
    public async Task A_cancelled_run_ends_cancelled_the_in_flight_answer_changes_nothing_and_cancelling_again_is_409()
    {
        var worker = await AgentAsync("worker", _ => AgentAction.Succeed().WhenReleased());
        await Api.PutWorkflowAsync(Wf.Of("cancel", Wf.Step("s1", agent: "worker"), Wf.Step("s2", agent: "worker")), Ct);
        var runId = await Api.StartRunAsync("cancel", cancellationToken: Ct);
        var inFlight = await worker.WaitForTaskAsync(runId, "s1");

        var (status, accepted) = await CancelAsync(runId);
        var cancelled = await Api.WaitForStatusAsync(runId, "CANCELLED", cancellationToken: Ct);
        inFlight.Release();
        await WaitUntilHandledAsync(await inFlight.Replied);
        var after = await Api.GetRunAsync(runId, Ct);
        var (againStatus, again) = await CancelAsync(runId);

        Assert.Equal(HttpStatusCode.Accepted, status);
        Assert.Equal(runId, accepted.GetProperty("runId").GetString());
        Assert.Equal("CANCELLED", Status(after));
        Assert.Equal("CANCELLED", Step(after, "s1").GetProperty("status").GetString());
        Assert.Null(Value(Step(after, "s1"), "output"));
        Assert.Equal("PENDING", Step(after, "s2").GetProperty("status").GetString());
        Assert.Equal(cancelled.GetProperty("endedAt").GetDateTimeOffset(), after.GetProperty("endedAt").GetDateTimeOffset());
        Assert.Equal(0, worker.Deliveries(runId, "s2"));
        Assert.Equal(HttpStatusCode.Conflict, againStatus);
        Assert.Equal(409, again.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task Cancelling_after_a_compensable_step_completed_sends_its_compensation_to_the_compensation_agent()
    {
        var worker = await AgentAsync("worker", task => task.StepId == "s1"
            ? AgentAction.Succeed(new { booked = "room 7" })
            : AgentAction.Succeed().WhenReleased());
        var undo = await AgentAsync("undo", _ => AgentAction.Succeed().WhenReleased());
        await Api.PutWorkflowAsync(Wf.Of("saga", Wf.Step("s1", agent: "worker", compensateWith: "undo"), Wf.Step("s2", agent: "worker")), Ct);
        var runId = await Api.StartRunAsync("saga", cancellationToken: Ct);
        await worker.WaitForTaskAsync(runId, "s2");

        var (status, _) = await CancelAsync(runId);
        var compensation = await undo.WaitForTaskAsync(runId, "s1", kind: AgentTaskKind.Compensation);
        var (whileCompensating, _) = await CancelAsync(runId);
        compensation.Release();
        var run = await Api.WaitForRunAsync(runId, cancellationToken: Ct);
        worker.ReleaseAll();

        Assert.Equal(HttpStatusCode.Accepted, status);
        Assert.Equal("undo", compensation.Task.AgentId);
        Assert.Equal("room 7", compensation.Task.Input.GetProperty("booked").GetString()); // the step's output is the default input
        Assert.Equal(HttpStatusCode.Conflict, whileCompensating);
        Assert.Equal("CANCELLED", Status(run));
        Assert.Equal(["s1"], run.GetProperty("compensated").EnumerateArray().Select(s => s.GetString()));
        Assert.Empty(run.GetProperty("compensationFailed").EnumerateArray());
        Assert.Equal("CANCELLED", Step(run, "s2").GetProperty("status").GetString());
        Assert.Equal(1, undo.Deliveries(runId, "s1", kind: AgentTaskKind.Compensation));
        Assert.Equal(HttpStatusCode.Conflict, (await CancelAsync(runId)).Status);
    }
}
