using System.Text.Json;
using Orchestration.Api.Engine;
using Orchestration.Api.Model;
using static Orchestration.Api.Tests.Engine.Workflows;

namespace Orchestration.Api.Tests.Engine;

/// <summary>The <c>workflow</c> step in the pure reducer: the child's start, end and cancel are commands and inputs.</summary>
public sealed class ChildWorkflowReducerTests
{
    private static StepDefinition Child(string id, string workflow = "child", OnFail onFail = OnFail.Retry, int maxAttempts = 3, object? input = null) => new()
    {
        Id = id,
        Type = StepType.Workflow,
        Workflow = workflow,
        OnFail = onFail,
        MaxAttempts = maxAttempts,
        TimeoutMs = 5_000,
        Backoff = new BackoffPolicy { Type = BackoffType.Constant, BaseMs = 100, MaxMs = 100, Jitter = false },
        Input = input is null ? null : JsonSerializer.SerializeToElement(input),
    };

    private static ChildRunEnded Ended(RunCommand start, RunStatus status, object? output = null, string? error = null, bool retryable = true) =>
        new(start.Parent!.StepId, start.Parent.Attempt, start.RunId, status, output is null ? null : JsonSerializer.SerializeToElement(output), error, retryable);

    [Fact]
    public void A_workflow_step_asks_for_its_child_once_and_the_next_step_continues_with_the_childs_output()
    {
        var workflow = Of(Step("plan"), Child("review", input: new { code = "{{steps.plan.output}}", ticket = "{{input.ticket}}" }), Step("ship"));
        var harness = new EngineHarness(workflow, new { ticket = 7 }).WithAgent("worker");
        harness.Behaviour = _ => AgentReply.Silent;
        harness.Apply(new StartRun());
        var before = Clone(harness.Run);
        harness.Apply(harness.GenuineResult(Result("plan")));

        var start = Assert.Single(harness.Commands);
        Assert.Equal(RunCommandKind.StartChild, start.Kind);
        Assert.Equal("child", start.WorkflowId);
        Assert.Equal(new ParentRun("run-1", "review", 1), start.Parent);
        Assert.Equal(1, start.Depth);
        Assert.Equal(7, start.Input!.Value.GetProperty("ticket").GetInt32());
        Assert.Equal("plan", start.Input.Value.GetProperty("code").GetProperty("step").GetString());
        Assert.Equal(start.RunId, harness.Run.Steps[1].Current!.ChildRunId);
        Assert.Equal(StepStatus.Running, harness.Run.Steps[1].Status);
        Assert.Single(harness.Dispatched); // no agent task for the workflow step
        Assert.Contains(harness.Run.Timers, t => t.Kind == TimerKind.AttemptTimeout && t.StepId == "review");

        // Another replica applying the same result to the same stored state asks for the same child.
        var replica = RunReducer.Apply(before, harness.GenuineResult(Result("plan")), harness.Clock.GetUtcNow(), harness.Agents);
        Assert.Equal(start, Assert.Single(replica.Commands), RunCommandComparer.Instance);

        harness.Apply(Ended(start, RunStatus.Succeeded, new { verdict = "ok" }));

        Assert.Equal(StepStatus.Succeeded, harness.Run.Steps[1].Status);
        Assert.Equal("ok", harness.Run.Steps[1].Output!.Value.GetProperty("verdict").GetString());
        Assert.Equal("ship", harness.Dispatched[^1].Task.StepId);
        Assert.Equal("ok", harness.Dispatched[^1].Task.Input.GetProperty("verdict").GetString());
        Assert.DoesNotContain(harness.Run.Timers, t => t.StepId == "review");
        var completed = harness.Events.Single(e => e.Type == RunEventTypes.StepCompleted && e.StepId == "review");
        Assert.Equal(start.RunId, completed.Data!.Value.GetProperty("childRunId").GetString());
    }

    [Fact]
    public void A_failed_child_is_retried_as_a_new_child_and_then_follows_on_fail()
    {
        var harness = new EngineHarness(Of(Child("review", maxAttempts: 2))).WithAgent("worker");
        harness.Apply(new StartRun());
        var first = harness.Commands[^1];
        harness.Apply(Ended(first, RunStatus.Failed, error: "Step 'lint' failed: boom"));

        Assert.Equal(StepStatus.Retrying, harness.Run.Steps[0].Status);
        harness.Clock.Advance(TimeSpan.FromMilliseconds(100));
        harness.Apply(new TimersDue());
        var second = harness.Commands[^1];
        Assert.Equal(RunCommandKind.StartChild, second.Kind);
        Assert.Equal(2, second.Parent!.Attempt);
        Assert.NotEqual(first.RunId, second.RunId);

        // The first child's end, told again (an outbox resend), changes nothing now.
        Assert.Empty(harness.Apply(Ended(first, RunStatus.Succeeded, new { late = true })).Events);

        harness.Apply(Ended(second, RunStatus.TimedOut, error: "The workflow did not finish within 1000 ms."));

        Assert.Equal(RunStatus.Failed, harness.Run.Status);
        Assert.Equal("review", harness.Run.FailedStep);
        Assert.Contains($"Child run {second.RunId} of workflow 'child' ended TIMED_OUT", harness.Run.Steps[0].Error);
    }

    [Fact]
    public void A_child_end_that_is_not_the_attempts_child_is_ignored_and_a_cancelled_child_is_not_retried()
    {
        var harness = new EngineHarness(Of(Child("review", onFail: OnFail.Skip), Step("after"))).WithAgent("worker");
        harness.Behaviour = _ => AgentReply.Silent;
        harness.Apply(new StartRun());
        var start = harness.Commands[^1];

        Assert.Empty(harness.Apply(Ended(start, RunStatus.Succeeded) with { ChildRunId = "someone-else" }).Events);
        Assert.Empty(harness.Apply(Ended(start, RunStatus.Succeeded) with { Attempt = 2 }).Events);
        Assert.Empty(harness.Apply(Ended(start, RunStatus.Succeeded) with { StepId = "after" }).Events);
        Assert.Equal(StepStatus.Running, harness.Run.Steps[0].Status);

        harness.Apply(Ended(start, RunStatus.Cancelled, error: "The run was cancelled.", retryable: false));

        Assert.Equal(StepStatus.Skipped, harness.Run.Steps[0].Status);
        Assert.Equal("failed", harness.Run.Steps[0].SkipReason);
        Assert.Equal("after", harness.Dispatched[^1].Task.StepId);
    }

    [Fact]
    public void Cancelling_the_parent_cancels_the_running_child_and_an_attempt_timeout_cancels_it_before_the_retry()
    {
        var harness = new EngineHarness(Of(Child("review", maxAttempts: 2))).WithAgent("worker");
        harness.Apply(new StartRun());
        var first = harness.Commands[^1];

        harness.Clock.Advance(TimeSpan.FromMilliseconds(5_000));
        harness.Apply(new TimersDue());
        Assert.Equal(new RunCommand(RunCommandKind.CancelChild, first.RunId), harness.Commands[^1]);
        Assert.Contains("timed out", harness.Run.Steps[0].Error);

        harness.Clock.Advance(TimeSpan.FromMilliseconds(100));
        harness.Apply(new TimersDue());
        var second = harness.Commands[^1];
        Assert.Equal(RunCommandKind.StartChild, second.Kind);

        harness.Apply(new CancelRun());

        Assert.Equal(RunStatus.Cancelled, harness.Run.Status);
        Assert.Equal(new RunCommand(RunCommandKind.CancelChild, second.RunId), harness.Commands[^1]);
        Assert.Equal(StepStatus.Cancelled, harness.Run.Steps[0].Status);
        // Start, cancel (timeout), start, cancel: the timed-out child is not cancelled a second time.
        Assert.Equal([RunCommandKind.StartChild, RunCommandKind.CancelChild, RunCommandKind.StartChild, RunCommandKind.CancelChild], harness.Commands.Select(c => c.Kind));
    }

    [Fact]
    public void A_child_run_tells_its_parent_when_it_ends_however_it_ends()
    {
        foreach (var (behaviour, status) in new (Func<Communication.Bus.Contracts.AgentTask, AgentReply>, RunStatus)[]
        {
            (task => Reply.Ok(task, new { done = true }), RunStatus.Succeeded),
            (task => Reply.Fail(task, "no", retryable: false), RunStatus.Failed),
        })
        {
            var harness = new EngineHarness(Of(Step("only", maxAttempts: 1))).WithAgent("worker");
            harness.Behaviour = behaviour;
            var parent = new ParentRun("parent-run", "review[2]", 3);
            harness.Run = harness.Run with { Parent = parent, Depth = 2 };

            var run = harness.RunToEnd();

            Assert.Equal(status, run.Status);
            Assert.Equal(new RunCommand(RunCommandKind.NotifyParent, "parent-run") { Parent = parent }, Assert.Single(harness.Commands));
        }

        var topLevel = new EngineHarness(Of(Step("only"))).WithAgent("worker");
        topLevel.RunToEnd();
        Assert.Empty(topLevel.Commands);
    }

    [Fact]
    public void A_child_past_the_depth_limit_fails_its_step_with_the_limit_named_and_starts_nothing()
    {
        var harness = new EngineHarness(Of(Child("review"))).WithAgent("worker");
        harness.Limits = RunLimits.Default with { MaxWorkflowDepth = 2 };
        harness.Run = harness.Run with { Depth = 2 };

        var run = harness.RunToEnd();

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Contains("3 deep, over the limit of 2 (Orchestration:MaxWorkflowDepth)", run.Steps[0].Error);
        Assert.Equal(1, run.Steps[0].Attempts); // not retried: it can never fit
        Assert.Empty(harness.Commands);
    }

    [Fact]
    public void Each_item_of_a_for_each_workflow_step_is_a_child_run_of_its_own()
    {
        var step = Child("each", input: new { n = "{{item}}" }) with { ForEach = new ForEachDefinition { Items = "{{input.list}}" } };
        var harness = new EngineHarness(Of(step), new { list = new[] { 1, 2 } }).WithAgent("worker");
        harness.Apply(new StartRun());

        Assert.Equal(["each[0]", "each[1]"], harness.Commands.Select(c => c.Parent!.StepId));
        Assert.Equal([1, 2], harness.Commands.Select(c => c.Input!.Value.GetProperty("n").GetInt32()));
        harness.Apply(Ended(harness.Commands[1], RunStatus.Succeeded, new { v = "b" }));
        harness.Apply(Ended(harness.Commands[0], RunStatus.Succeeded, new { v = "a" }));

        Assert.Equal(RunStatus.Succeeded, harness.Run.Status);
        Assert.Equal(["a", "b"], harness.Run.Output!.Value.EnumerateArray().Select(o => o.GetProperty("v").GetString()));
    }

    [Fact]
    public void A_parent_that_fails_after_its_child_succeeded_has_the_child_undo_its_steps_and_waits_for_it()
    {
        var harness = new EngineHarness(Of(Child("review"), Step("ship", onFail: OnFail.Abort))).WithAgent("worker");
        harness.Behaviour = task => Reply.Fail(task, "ship broke", retryable: false);
        harness.Apply(new StartRun());
        var start = harness.Commands[^1];
        harness.Apply(Ended(start, RunStatus.Succeeded, new { ok = true }));
        harness.Apply(harness.GenuineResult(new Communication.Bus.Contracts.AgentTaskResult
        {
            RunId = "run-1", StepId = "ship", Attempt = 1, Ok = false, Error = "ship broke", Retryable = false, AgentId = "worker",
        }));

        Assert.Equal(new RunCommand(RunCommandKind.CompensateChild, start.RunId), harness.Commands[^1]);
        Assert.Equal(RunStatus.Running, harness.Run.Status); // compensating
        Assert.Empty(harness.Apply(new ChildRunCompensated("review", "another-child", Ok: true, null)).Events);

        harness.Apply(new ChildRunCompensated("review", start.RunId, Ok: true, null));

        Assert.Equal(RunStatus.Failed, harness.Run.Status);
        Assert.Equal(["review"], harness.Run.Compensated);
    }

    [Fact]
    public void A_succeeded_child_asked_to_compensate_undoes_its_completed_steps_in_reverse_and_tells_its_parent_once_done()
    {
        var harness = new EngineHarness(Of(Step("book", compensateWith: "undo"), Step("pay", compensateWith: "undo"), Step("note"))).WithAgent("worker").WithAgent("undo");
        var parent = new ParentRun("parent-run", "review", 1);
        harness.Run = harness.Run with { Parent = parent, Depth = 1 };
        harness.Behaviour = task => task.Kind == Communication.Bus.Contracts.AgentTaskKind.Compensation ? AgentReply.Silent : Reply.Ok(task, new { done = task.StepId });
        harness.RunToEnd();
        Assert.Equal(RunStatus.Succeeded, harness.Run.Status);
        harness.Commands.Clear();

        harness.Apply(new CompensateRun());
        var first = harness.Dispatched[^1];
        harness.Apply(harness.GenuineResult(Reply.Ok(first.Task, new { }).Result!));
        var second = harness.Dispatched[^1];
        Assert.Empty(harness.Commands);
        harness.Apply(harness.GenuineResult(Reply.Ok(second.Task, new { }).Result!));

        Assert.Equal(["pay", "book"], [first.Task.StepId, second.Task.StepId]);
        Assert.Equal(RunStatus.Succeeded, harness.Run.Status);
        Assert.True(harness.Run.Undone);
        Assert.Null(harness.Run.Compensation);
        Assert.Equal(["pay", "book"], harness.Run.Compensated);
        Assert.Equal(RunEventTypes.WorkflowCompensated, harness.Events[^1].Type);
        Assert.Equal(new RunCommand(RunCommandKind.NotifyParentCompensated, "parent-run") { Parent = parent }, Assert.Single(harness.Commands));

        // Asked again (a resent command): nothing is undone twice; the parent is told again.
        var again = harness.Apply(new CompensateRun());
        Assert.Empty(again.Dispatches);
        Assert.Equal(RunCommandKind.NotifyParentCompensated, Assert.Single(again.Commands).Kind);
    }

    private static StepDefinition EachChild(string id, string items = "{{input.list}}", OnFail onFail = OnFail.Retry) =>
        Child(id, onFail: onFail, input: new { n = "{{item}}" }) with { ForEach = new ForEachDefinition { Items = items } };

    [Fact]
    public void A_parent_that_fails_after_a_for_each_workflow_step_has_every_items_child_undo_its_steps_most_recent_first()
    {
        var harness = new EngineHarness(Of(Step("plan", compensateWith: "undo"), EachChild("each"), Step("ship", onFail: OnFail.Abort)), new { list = new[] { 1, 2, 3 } })
            .WithAgent("worker").WithAgent("undo");
        harness.Behaviour = task => task.Kind == Communication.Bus.Contracts.AgentTaskKind.Compensation ? AgentReply.Silent
            : task.StepId == "ship" ? Reply.Fail(task, "ship broke", retryable: false) : Reply.Ok(task, new { done = task.StepId });
        harness.Apply(new StartRun());
        harness.Apply(harness.GenuineResult(Result("plan")));
        var starts = harness.Commands.Where(c => c.Kind == RunCommandKind.StartChild).ToList();
        Assert.Equal(["each[0]", "each[1]", "each[2]"], starts.Select(c => c.Parent!.StepId));

        // The items' children end in the order 1, 0, 2; then ship fails the run.
        harness.Apply(Ended(starts[1], RunStatus.Succeeded, new { v = 1 }));
        harness.Apply(Ended(starts[0], RunStatus.Succeeded, new { v = 0 }));
        harness.Apply(Ended(starts[2], RunStatus.Succeeded, new { v = 2 }));
        harness.Apply(harness.GenuineResult(new Communication.Bus.Contracts.AgentTaskResult
        {
            RunId = "run-1", StepId = "ship", Attempt = 1, Ok = false, Error = "ship broke", Retryable = false, AgentId = "worker",
        }));

        // Each item's child undoes its own steps, one after the other, the most recently completed item first.
        Assert.Equal(new RunCommand(RunCommandKind.CompensateChild, starts[2].RunId), harness.Commands[^1]);
        Assert.Equal(RunStatus.Running, harness.Run.Status);
        Assert.Empty(harness.Apply(new ChildRunCompensated("each[2]", starts[0].RunId, Ok: true, null)).Events); // not the current item's child
        harness.Apply(new ChildRunCompensated("each[2]", starts[2].RunId, Ok: true, null));
        Assert.Equal(new RunCommand(RunCommandKind.CompensateChild, starts[0].RunId), harness.Commands[^1]);
        harness.Apply(new ChildRunCompensated("each[0]", starts[0].RunId, Ok: false, "refund refused"));
        Assert.Equal(new RunCommand(RunCommandKind.CompensateChild, starts[1].RunId), harness.Commands[^1]);
        harness.Apply(new ChildRunCompensated("each[1]", starts[1].RunId, Ok: true, null));

        // Then the step before them, with its own compensation.
        var undo = harness.Dispatched[^1];
        Assert.Equal(("plan", Communication.Bus.Contracts.AgentTaskKind.Compensation), (undo.Task.StepId, undo.Task.Kind));
        harness.Apply(harness.GenuineResult(Reply.Ok(undo.Task, new { }).Result!));

        Assert.Equal(RunStatus.Failed, harness.Run.Status);
        Assert.Equal(["each[2]", "each[1]", "plan"], harness.Run.Compensated);
        Assert.Equal(["each[0]"], harness.Run.CompensationFailed);
        Assert.Equal(["each[2]", "each[0]", "each[1]", "plan"], harness.StepEvents(RunEventTypes.CompensationStarted));
        Assert.Equal(3, harness.Commands.Count(c => c.Kind == RunCommandKind.CompensateChild));
    }

    [Fact]
    public void Cancelling_a_run_mid_for_each_cancels_the_running_items_children_and_has_the_succeeded_ones_undo_their_steps()
    {
        var harness = new EngineHarness(Of(EachChild("each")), new { list = new[] { 1, 2, 3 } }).WithAgent("worker");
        harness.Apply(new StartRun());
        var starts = harness.Commands.ToList();
        harness.Apply(Ended(starts[1], RunStatus.Succeeded, new { v = 1 }));

        harness.Apply(new CancelRun());

        // Items 0 and 2 still ran: their children are cancelled (and undo their own steps as any cancelled run does).
        Assert.Equal(
            [new RunCommand(RunCommandKind.CancelChild, starts[0].RunId), new RunCommand(RunCommandKind.CancelChild, starts[2].RunId),
             new RunCommand(RunCommandKind.CompensateChild, starts[1].RunId)],
            harness.Commands.Skip(3));
        Assert.Equal([StepStatus.Cancelled, StepStatus.Succeeded, StepStatus.Cancelled], harness.Run.Steps[0].Items!.Select(i => i.Status));
        Assert.Equal(RunStatus.Running, harness.Run.Status); // compensating

        // A compensation that never reports back times out after the step's timeoutMs.
        harness.Clock.Advance(TimeSpan.FromMilliseconds(5_000));
        harness.Apply(new TimersDue());

        Assert.Equal(RunStatus.Cancelled, harness.Run.Status);
        Assert.Equal(["each[1]"], harness.Run.CompensationFailed);
        Assert.Empty(harness.Run.Compensated);
    }

    [Fact]
    public void A_for_each_workflow_step_with_its_own_compensate_is_undone_by_that_agent_once_not_by_its_children()
    {
        var step = EachChild("each") with { Compensate = new CompensationDefinition { Agent = "undo" } };
        var harness = new EngineHarness(Of(step, Step("ship", onFail: OnFail.Abort)), new { list = new[] { 1, 2 } }).WithAgent("worker").WithAgent("undo");
        harness.Behaviour = task => task.Kind == Communication.Bus.Contracts.AgentTaskKind.Compensation ? Reply.Ok(task, new { }) : Reply.Fail(task, "ship broke", retryable: false);
        harness.Apply(new StartRun());
        var starts = harness.Commands.ToList();
        harness.Apply(Ended(starts[0], RunStatus.Succeeded, new { v = 0 }));
        harness.Apply(Ended(starts[1], RunStatus.Succeeded, new { v = 1 }));

        harness.RunToEnd();

        Assert.Equal(RunStatus.Failed, harness.Run.Status);
        Assert.Equal(["each"], harness.Run.Compensated);
        Assert.DoesNotContain(harness.Commands, c => c.Kind == RunCommandKind.CompensateChild);
    }

    [Fact]
    public void A_succeeded_child_asked_to_compensate_has_its_own_for_each_items_children_undo_their_steps()
    {
        var harness = new EngineHarness(Of(EachChild("each")), new { list = new[] { 1, 2 } }).WithAgent("worker");
        var parent = new ParentRun("parent-run", "outer", 1);
        harness.Run = harness.Run with { Parent = parent, Depth = 1 };
        harness.Apply(new StartRun());
        var starts = harness.Commands.ToList();
        harness.Apply(Ended(starts[0], RunStatus.Succeeded, new { v = 0 }));
        harness.Apply(Ended(starts[1], RunStatus.Succeeded, new { v = 1 }));
        Assert.Equal(RunStatus.Succeeded, harness.Run.Status);
        harness.Commands.Clear();

        harness.Apply(new CompensateRun());
        harness.Apply(new ChildRunCompensated("each[1]", starts[1].RunId, Ok: true, null));
        harness.Apply(new ChildRunCompensated("each[0]", starts[0].RunId, Ok: true, null));

        Assert.Equal([RunCommandKind.CompensateChild, RunCommandKind.CompensateChild, RunCommandKind.NotifyParentCompensated], harness.Commands.Select(c => c.Kind));
        Assert.Equal([starts[1].RunId, starts[0].RunId, "parent-run"], harness.Commands.Select(c => c.RunId));
        Assert.True(harness.Run.Undone);
        Assert.Equal(["each[1]", "each[0]"], harness.Run.Compensated);
    }

    /// <summary>The run as another replica would load it from the store: the same state, separate objects.</summary>
    private static RunState Clone(RunState run)
    {
        var copy = JsonSerializer.Deserialize<RunState>(JsonSerializer.Serialize(run, RunJson.Options), RunJson.Options)!;
        copy.Workflow = run.Workflow;
        copy.Input = run.Input;
        return copy;
    }

    /// <summary>Commands compared by value, their JSON input included.</summary>
    private sealed class RunCommandComparer : IEqualityComparer<RunCommand>
    {
        public static readonly RunCommandComparer Instance = new();

        public bool Equals(RunCommand? x, RunCommand? y) =>
            JsonSerializer.Serialize(x, RunJson.Options) == JsonSerializer.Serialize(y, RunJson.Options);

        public int GetHashCode(RunCommand obj) => obj.RunId.GetHashCode(StringComparison.Ordinal);
    }

    private static Communication.Bus.Contracts.AgentTaskResult Result(string step, int attempt = 1) => new()
    {
        RunId = "run-1",
        StepId = step,
        Attempt = attempt,
        Ok = true,
        Output = JsonSerializer.SerializeToElement(new { step }),
        AgentId = "worker",
    };
}
