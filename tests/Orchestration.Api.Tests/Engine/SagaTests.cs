using Orchestration.Api.Model;
using static Orchestration.Api.Tests.Engine.Workflows;

namespace Orchestration.Api.Tests.Engine;

public sealed class SagaTests
{
    private static EngineHarness Harness(string failAt, params StepDefinition[] steps)
    {
        var harness = new EngineHarness(Of(steps)).WithAgent("worker").WithAgent("undo");
        harness.Behaviour = task => task.StepId == failAt && task.Kind == Communication.Bus.Contracts.AgentTaskKind.Step
            ? Reply.Fail(task, "boom", retryable: false)
            : Reply.Ok(task, new { task.StepId, kind = task.Kind.ToString() });
        return harness;
    }

    private static List<string> CompensationTasks(EngineHarness harness) =>
        harness.Dispatched.Where(d => d.Task.Kind == Communication.Bus.Contracts.AgentTaskKind.Compensation).Select(d => d.Task.StepId).ToList();

    [Fact]
    public void When_every_step_succeeds_nothing_is_compensated()
    {
        var harness = Harness("none", Step("s1", compensateWith: "undo"), Step("s2", compensateWith: "undo"), Step("s3", compensateWith: "undo"));

        var run = harness.RunToEnd();

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Empty(CompensationTasks(harness));
        Assert.Empty(run.Compensated);
    }

    [Fact]
    public void A_failure_at_step_3_compensates_steps_2_and_1_in_reverse_order()
    {
        var harness = Harness("s3", Step("s1", compensateWith: "undo"), Step("s2", compensateWith: "undo"), Step("s3", compensateWith: "undo"));

        var run = harness.RunToEnd();

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal("s3", run.FailedStep);
        Assert.Equal(["s2", "s1"], CompensationTasks(harness));
        Assert.Equal(["s2", "s1"], run.Compensated);
        Assert.Equal(["s2", "s1"], harness.StepEvents("compensation_completed"));
        Assert.Equal("workflow_failed", harness.EventTypes.Last());
    }

    [Fact]
    public void A_failure_at_step_2_compensates_only_step_1()
    {
        var harness = Harness("s2", Step("s1", compensateWith: "undo"), Step("s2", compensateWith: "undo"), Step("s3", compensateWith: "undo"));

        var run = harness.RunToEnd();

        Assert.Equal(["s1"], run.Compensated);
        Assert.DoesNotContain(harness.Dispatched, d => d.Task.StepId == "s3");
    }

    [Fact]
    public void Steps_without_a_compensation_are_passed_over()
    {
        var harness = Harness("s4", Step("s1", compensateWith: "undo"), Step("s2"), Step("s3", compensateWith: "undo"), Step("s4"));

        var run = harness.RunToEnd();

        Assert.Equal(["s3", "s1"], run.Compensated);
        Assert.Empty(run.CompensationFailed);
    }

    [Fact]
    public void A_failing_compensation_is_recorded_and_the_others_still_run()
    {
        var harness = Harness("s4", Step("s1", compensateWith: "undo"), Step("s2", compensateWith: "undo"), Step("s3", compensateWith: "undo"), Step("s4"));
        var inner = harness.Behaviour;
        harness.Behaviour = task => task.Kind == Communication.Bus.Contracts.AgentTaskKind.Compensation && task.StepId == "s2"
            ? Reply.Fail(task, "cannot undo")
            : inner(task);

        var run = harness.RunToEnd();

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal(["s3", "s2", "s1"], CompensationTasks(harness));
        Assert.Equal(["s3", "s1"], run.Compensated);
        Assert.Equal(["s2"], run.CompensationFailed);
        Assert.Equal(["s2"], harness.StepEvents("compensation_failed"));
    }

    [Fact]
    public void A_silent_compensation_times_out_and_the_rest_continue()
    {
        var harness = Harness("s3", Step("s1", compensateWith: "undo"), Step("s2", compensateWith: "undo"), Step("s3"));
        var inner = harness.Behaviour;
        harness.Behaviour = task => task.Kind == Communication.Bus.Contracts.AgentTaskKind.Compensation && task.StepId == "s2"
            ? AgentReply.Silent
            : inner(task);

        var run = harness.RunToEnd();

        Assert.Equal(["s1"], run.Compensated);
        Assert.Equal(["s2"], run.CompensationFailed);
        Assert.Equal(RunStatus.Failed, run.Status);
    }

    [Fact]
    public void Cancelling_compensates_the_completed_steps_and_ends_cancelled()
    {
        var harness = new EngineHarness(Of(Step("s1", compensateWith: "undo"), Step("s2", timeoutMs: 10_000))).WithAgent("worker").WithAgent("undo");
        harness.Behaviour = task => task.StepId == "s2" && task.Kind == Communication.Bus.Contracts.AgentTaskKind.Step
            ? AgentReply.Silent
            : Reply.Ok(task, new { });
        harness.Apply(new Orchestration.Api.Engine.StartRun());
        harness.RunToEnd(maxSteps: 1); // deliver s1's result, dispatch s2

        harness.Apply(new Orchestration.Api.Engine.CancelRun());
        var run = harness.RunToEnd();

        Assert.Equal(RunStatus.Cancelled, run.Status);
        Assert.Equal(["s1"], run.Compensated);
        Assert.Equal("workflow_cancelled", harness.EventTypes.Last());
    }
}
