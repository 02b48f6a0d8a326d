using System.Text.Json;
using Communication.Bus.Contracts;
using Orchestration.Api.Engine;
using Orchestration.Api.Model;
using static Orchestration.Api.Tests.Engine.Workflows;

namespace Orchestration.Api.Tests.Engine;

public sealed class GraphReducerTests
{
    private static StepDefinition After(StepDefinition step, params string[] dependsOn) => step with { DependsOn = dependsOn };

    [Fact]
    public void Steps_whose_dependencies_are_done_start_at_once_in_parallel()
    {
        var workflow = Of(Step("plan"), After(Step("qa"), "plan"), After(Step("security"), "plan"), After(Step("merge"), "qa", "security"));
        var harness = new EngineHarness(workflow).WithAgent("worker");
        harness.Behaviour = _ => AgentReply.Silent;

        harness.Apply(new StartRun());
        harness.Apply(harness.GenuineResult(Result("plan")));

        Assert.Equal(["plan", "qa", "security"], harness.Dispatched.Select(d => d.Task.StepId));
        Assert.Equal(StepStatus.Running, harness.Run.Steps[1].Status);
        Assert.Equal(StepStatus.Running, harness.Run.Steps[2].Status);
        Assert.Equal(StepStatus.Pending, harness.Run.Steps[3].Status);

        harness.Apply(harness.GenuineResult(Result("security")));
        Assert.Equal(StepStatus.Pending, harness.Run.Steps[3].Status);
        harness.Apply(harness.GenuineResult(Result("qa")));

        Assert.Equal("merge", harness.Dispatched[^1].Task.StepId);
        // Several dependencies and no template: the input is their outputs by step id.
        var input = harness.Dispatched[^1].Task.Input;
        Assert.Equal("qa", input.GetProperty("qa").GetProperty("step").GetString());
        Assert.Equal("security", input.GetProperty("security").GetProperty("step").GetString());
    }

    [Fact]
    public void Results_that_arrive_together_are_applied_in_order_as_one_transition()
    {
        var workflow = Of(After(Step("a"), []), After(Step("b"), []), After(Step("join"), "a", "b"));
        var harness = new EngineHarness(workflow).WithAgent("worker");
        harness.Behaviour = _ => AgentReply.Silent;
        harness.Apply(new StartRun());

        var both = RunReducer.Apply(harness.Run, [harness.GenuineResult(Result("a")), harness.GenuineResult(Result("b"))],
            harness.Clock.GetUtcNow(), harness.Agents);

        Assert.Equal(["step_completed", "step_completed", "step_started"], both.Events.Select(e => e.Type));
        Assert.Equal(["a", "b"], both.Outputs.Order());
        Assert.Equal("join", Assert.Single(both.Dispatches).Task.StepId);
    }

    [Fact]
    public void Max_parallelism_caps_the_steps_running_at_once()
    {
        var workflow = Of(After(Step("a"), []), After(Step("b"), []), After(Step("c"), [])) with { MaxParallelism = 2 };
        var harness = new EngineHarness(workflow).WithAgent("worker");
        harness.Behaviour = _ => AgentReply.Silent;

        harness.Apply(new StartRun());
        Assert.Equal(["a", "b"], harness.Dispatched.Select(d => d.Task.StepId));

        harness.Apply(harness.GenuineResult(Result("b")));
        Assert.Equal(["a", "b", "c"], harness.Dispatched.Select(d => d.Task.StepId));
    }

    [Fact]
    public void A_false_condition_skips_the_step_with_reason_condition_and_steps_that_only_follow_it_are_skipped_too()
    {
        var workflow = Of(
            Step("plan"),
            After(Step("gate") with { When = "input.approvalGate == true" }, "plan"),
            After(Step("afterGate"), "gate"),
            After(Step("code"), "plan", "afterGate"));
        var harness = new EngineHarness(workflow, new { approvalGate = false }).WithAgent("worker");

        var run = harness.RunToEnd();

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal("condition", run.Steps[1].SkipReason);
        Assert.Equal("dependencies", run.Steps[2].SkipReason);
        Assert.Equal(StepStatus.Succeeded, run.Steps[3].Status);
        Assert.Equal(["plan", "code"], harness.Dispatched.Select(d => d.Task.StepId));
        var skipped = harness.Events.First(e => e.Type == RunEventTypes.StepSkipped);
        Assert.Equal("condition", skipped.Data!.Value.GetProperty("reason").GetString());
    }

    [Fact]
    public void A_condition_reads_ancestors_outputs()
    {
        var workflow = Of(Step("check"), After(Step("fix") with { When = "steps.check.output.step == 'check' and not exists(steps.check.output.missing)" }, "check"));
        var harness = new EngineHarness(workflow).WithAgent("worker");

        var run = harness.RunToEnd();

        Assert.Equal(StepStatus.Succeeded, run.Steps[1].Status);
    }

    [Fact]
    public void A_step_after_one_skipped_by_on_fail_skip_still_runs_as_before()
    {
        var workflow = Of(Step("a"), Step("b", onFail: OnFail.Skip), Step("c"));
        var harness = new EngineHarness(workflow).WithAgent("worker");
        harness.Behaviour = task => task.StepId == "b" ? Reply.Fail(task, "broken") : Reply.Ok(task, new { step = task.StepId });

        var run = harness.RunToEnd();

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal("failed", run.Steps[1].SkipReason);
        Assert.Equal("a", harness.Dispatched.Last().Task.Input.GetProperty("step").GetString());
    }

    [Fact]
    public void A_failing_branch_cancels_the_parallel_branch_and_compensates_in_reverse_completion_order()
    {
        var workflow = Of(
            Step("root", compensateWith: "undo"),
            After(Step("fast", compensateWith: "undo"), "root"),
            After(Step("slow", compensateWith: "undo"), "root"),
            After(Step("late", maxAttempts: 1), "fast"));
        var harness = new EngineHarness(workflow).WithAgent("worker").WithAgent("undo");
        harness.Behaviour = task => task.Kind == AgentTaskKind.Compensation ? Reply.Ok(task, new { })
            : task.StepId == "slow" ? Reply.Ok(task, new { }, TimeSpan.FromMilliseconds(50))
            : task.StepId == "late" ? Reply.Fail(task, "broken", delay: TimeSpan.FromMilliseconds(100))
            : Reply.Ok(task, new { });

        var run = harness.RunToEnd();

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal("late", run.FailedStep);
        Assert.Equal(["slow", "fast", "root"], run.Compensated);
    }

    [Fact]
    public void An_approval_step_waits_for_its_signal_and_its_output_is_the_signal()
    {
        var workflow = Of(Step("plan"), new StepDefinition { Id = "approve", Type = StepType.Approval, TimeoutMs = 60_000 }, Step("code"));
        var harness = new EngineHarness(workflow).WithAgent("worker");
        harness.Behaviour = _ => AgentReply.Silent;
        harness.Apply(new StartRun());
        harness.Apply(harness.GenuineResult(Result("plan")));
        harness.Clock.Advance(TimeSpan.FromSeconds(30));
        harness.Apply(new TimersDue());

        Assert.Equal(RunStatus.Running, harness.Run.Status);
        Assert.Equal(StepStatus.Waiting, harness.Run.Steps[1].Status);
        Assert.Contains(harness.Events, e => e.Type == RunEventTypes.Waiting && e.StepId == "approve");

        harness.Behaviour = task => Reply.Ok(task, new { step = task.StepId });
        harness.Apply(new SignalReceived("approve", new RunSignal { Approved = true, By = "alice", Comment = "ship it" }));
        var run = harness.RunToEnd();

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal("alice", run.Steps[1].Output!.Value.GetProperty("by").GetString());
        Assert.Contains(harness.Events, e => e.Type == RunEventTypes.SignalReceived && e.StepId == "approve");
    }

    [Fact]
    public void A_rejection_fails_the_run_and_a_signal_that_arrives_early_is_kept_for_its_step()
    {
        var workflow = Of(Step("plan"), new StepDefinition { Id = "approve", Type = StepType.Approval, TimeoutMs = 60_000 }, Step("code"));
        var rejected = new EngineHarness(workflow).WithAgent("worker");
        rejected.Behaviour = _ => AgentReply.Silent;
        rejected.Apply(new StartRun());
        rejected.Apply(new SignalReceived("approve", new RunSignal { Approved = false, By = "bob", Comment = "not yet" }));
        rejected.Apply(rejected.GenuineResult(Result("plan")));

        Assert.Equal(RunStatus.Failed, rejected.Run.Status);
        Assert.Equal("approve", rejected.Run.FailedStep);
        Assert.Contains("bob", rejected.Run.Steps[1].Error, StringComparison.Ordinal);
    }

    [Fact]
    public void An_approval_that_times_out_follows_on_fail()
    {
        var workflow = Of(new StepDefinition { Id = "approve", Type = StepType.Approval, TimeoutMs = 5_000, OnFail = OnFail.Skip }, Step("code"));
        var harness = new EngineHarness(workflow).WithAgent("worker");

        var run = harness.RunToEnd();

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal("failed", run.Steps[0].SkipReason);
        Assert.Contains("No signal 'approve'", run.Steps[0].Error, StringComparison.Ordinal);
    }

    [Fact]
    public void An_output_that_would_take_the_run_past_its_bound_fails_the_step()
    {
        var harness = new EngineHarness(Of(Step("a"))).WithAgent("worker");
        harness.Limits = new RunLimits(1024, 2048);
        harness.Behaviour = task => Reply.Ok(task, new { text = new string('x', 4096) });

        var run = harness.RunToEnd();

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Contains("Orchestration:MaxRunBytes", run.Steps[0].Error, StringComparison.Ordinal);
        Assert.Single(harness.Dispatched);
    }

    [Fact]
    public void An_output_is_counted_with_its_copy_in_the_step_completed_event()
    {
        // 6,000 characters fit a 10,000-byte bound once, but the run stores them twice (the step's output and its
        // step_completed event): the old count let the run store 12,000.
        var harness = new EngineHarness(Of(Step("a"))).WithAgent("worker");
        harness.Limits = new RunLimits(1024, 10_000);
        harness.Behaviour = task => Reply.Ok(task, new string('x', 6_000));

        var run = harness.RunToEnd();

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Contains("Orchestration:MaxRunBytes", run.Steps[0].Error, StringComparison.Ordinal);
        Assert.DoesNotContain(harness.Events, e => e.Type == RunEventTypes.StepCompleted);
    }

    [Fact]
    public void The_input_is_counted_with_its_copy_in_the_workflow_started_event()
    {
        var input = JsonSerializer.SerializeToElement(new { text = new string('x', 1_000) });

        var run = RunFactory.Create("r", Of(Step("a")), input, DateTimeOffset.UnixEpoch);

        Assert.Equal(2L * input.GetRawText().Length, run.StoredBytes);
    }

    [Fact]
    public void An_agents_huge_error_is_cut_to_the_bound_on_every_attempt_and_counted()
    {
        // An agent may answer each attempt with an error up to the bus payload limit (512 KiB): kept whole, three
        // attempts stored 1.5 MB three times over (attempt, step, event) outside the run's bound.
        var harness = new EngineHarness(Of(Step("a", maxAttempts: 3))).WithAgent("worker");
        harness.Limits = new RunLimits(1024, 16L * 1024 * 1024, MaxErrorChars: 1_000);
        harness.Behaviour = task => Reply.Fail(task, "boom " + new string('e', 512 * 1024));

        var run = harness.RunToEnd();

        Assert.Equal(RunStatus.Failed, run.Status);
        var step = run.Steps[0];
        Assert.Equal(3, step.Attempts);
        Assert.InRange(step.Current!.Error!.Length, 1_000, 1_100);
        Assert.Contains("Orchestration:MaxErrorChars", step.Current.Error, StringComparison.Ordinal);
        Assert.StartsWith("boom eee", step.Error, StringComparison.Ordinal);
        Assert.InRange(run.Error!.Length, 1, 1_100);
        var eventErrors = harness.Events.Where(e => e.Data is { } data && data.TryGetProperty("error", out _)).Select(e => e.Data!.Value.GetProperty("error").GetString()!).ToList();
        Assert.Equal(4, eventErrors.Count); // step_retrying twice, step_failed, workflow_failed
        Assert.All(eventErrors, e => Assert.InRange(e.Length, 1, 1_100));
        Assert.InRange(run.StoredBytes, 3 * 3 * 1_000, 20_000);
    }

    [Fact]
    public void An_error_cut_at_the_bound_never_splits_a_surrogate_pair()
    {
        var harness = new EngineHarness(Of(Step("a", maxAttempts: 1))).WithAgent("worker");
        harness.Limits = new RunLimits(1024, 16L * 1024 * 1024, MaxErrorChars: 256);
        harness.Behaviour = task => Reply.Fail(task, new string('e', 255) + string.Concat(Enumerable.Repeat("😀", 100)));

        var run = harness.RunToEnd();

        var error = run.Steps[0].Current!.Error!;
        Assert.StartsWith(new string('e', 255) + "…", error, StringComparison.Ordinal);
        Assert.DoesNotContain(error, c => char.IsSurrogate(c));
    }

    [Fact]
    public void A_result_from_another_sender_is_ignored()
    {
        var harness = new EngineHarness(Of(Step("a"))).WithAgent("worker");
        harness.Behaviour = _ => AgentReply.Silent;
        harness.Apply(new StartRun());

        var forged = harness.Apply(new StepResultReceived(Result("a"), harness.Dispatched[0].MessageId, "intruder"));
        var unsigned = harness.Apply(new StepResultReceived(Result("a"), CorrelationId: null, From: "worker"));

        Assert.False(forged.Changed);
        Assert.False(unsigned.Changed);
        Assert.Equal(StepStatus.Running, harness.Run.Steps[0].Status);
    }

    [Fact]
    public void No_agent_is_a_typed_result_of_the_transition()
    {
        var harness = new EngineHarness(Of(Step("a", agent: "ghost")));

        var transition = harness.Apply(new StartRun());

        Assert.True(transition.NoAgent);
    }

    private static AgentTaskResult Result(string stepId, int attempt = 1) => new()
    {
        RunId = "run-1",
        StepId = stepId,
        Attempt = attempt,
        Ok = true,
        Output = JsonSerializer.SerializeToElement(new { step = stepId }),
        AgentId = "worker",
    };
}
