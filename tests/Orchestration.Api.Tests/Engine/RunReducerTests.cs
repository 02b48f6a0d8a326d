using System.Text.Json;
using Orchestration.Api.Engine;
using Orchestration.Api.Model;
using static Orchestration.Api.Tests.Engine.Workflows;

namespace Orchestration.Api.Tests.Engine;

public sealed class RunReducerTests
{
    [Fact]
    public void A_run_whose_steps_succeed_completes_with_the_last_output_and_chains_outputs()
    {
        var harness = new EngineHarness(Of(Step("a"), Step("b")), new { topic = "x" }).WithAgent("worker");

        var run = harness.RunToEnd();

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal(["workflow_started", "step_started", "step_completed", "step_started", "step_completed", "workflow_completed"], harness.EventTypes);
        Assert.Equal("b", run.Output!.Value.GetProperty("step").GetString());
        // The second step received the first step's output (the seed chained outputs by default).
        Assert.Equal("a", harness.Dispatched[1].Task.Input.GetProperty("step").GetString());
        Assert.Equal("x", harness.Dispatched[0].Task.Input.GetProperty("topic").GetString());
    }

    [Fact]
    public void Templates_read_the_run_input_and_earlier_step_outputs()
    {
        var workflow = Of(Step("a"), Step("b", input: new { title = "{{input.title}}", from = "{{steps.a.output.step}}", text = "a said {{steps.a.output}}" }));
        var harness = new EngineHarness(workflow, new { title = "Hello" }).WithAgent("worker");

        harness.RunToEnd();

        var input = harness.Dispatched[1].Task.Input;
        Assert.Equal("Hello", input.GetProperty("title").GetString());
        Assert.Equal("a", input.GetProperty("from").GetString());
        Assert.Equal("""a said {"step":"a","attempt":1}""", input.GetProperty("text").GetString());
    }

    [Fact]
    public void A_failing_step_is_retried_until_it_succeeds()
    {
        var harness = new EngineHarness(Of(Step("a", maxAttempts: 3))).WithAgent("worker");
        harness.Behaviour = task => task.Attempt < 3 ? Reply.Fail(task, "flaky") : Reply.Ok(task, new { done = true });

        var run = harness.RunToEnd();

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal(3, run.Steps[0].Attempts);
        Assert.Equal(2, harness.StepEvents("step_retrying").Count());
        Assert.Equal([1, 2, 3], harness.Dispatched.Select(d => d.Task.Attempt));
    }

    [Fact]
    public void A_step_fails_the_run_after_max_attempts()
    {
        var harness = new EngineHarness(Of(Step("a", maxAttempts: 2), Step("b"))).WithAgent("worker");
        harness.Behaviour = task => Reply.Fail(task, "broken");

        var run = harness.RunToEnd();

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal("a", run.FailedStep);
        Assert.Equal(2, harness.Dispatched.Count);
        Assert.Equal(StepStatus.Pending, run.Steps[1].Status);
        Assert.Equal("workflow_failed", harness.EventTypes.Last());
    }

    [Fact]
    public void A_non_retryable_error_is_not_retried()
    {
        var harness = new EngineHarness(Of(Step("a", maxAttempts: 5))).WithAgent("worker");
        harness.Behaviour = task => Reply.Fail(task, "bad input", retryable: false);

        var run = harness.RunToEnd();

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Single(harness.Dispatched);
    }

    [Fact]
    public void A_silent_agent_times_the_attempt_out_and_its_late_result_is_ignored()
    {
        var harness = new EngineHarness(Of(Step("a", timeoutMs: 1_000, maxAttempts: 2))).WithAgent("worker");
        // Attempt 1 answers after 5 s (too late), attempt 2 in time.
        harness.Behaviour = task => task.Attempt == 1
            ? Reply.Ok(task, new { from = "late" }, TimeSpan.FromSeconds(5))
            : Reply.Ok(task, new { from = "second" });

        var run = harness.RunToEnd();

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal("second", run.Steps[0].Output!.Value.GetProperty("from").GetString());
        Assert.Contains("timed out", harness.Attempts["a"][0].Error, StringComparison.Ordinal);
        Assert.Equal(harness.Clock.GetUtcNow(), run.EndedAt); // ended before the late answer arrived
    }

    [Fact]
    public void A_late_result_after_the_run_moved_on_changes_nothing()
    {
        var harness = new EngineHarness(Of(Step("a", timeoutMs: 1_000, maxAttempts: 2))).WithAgent("worker");
        harness.Behaviour = task => task.Attempt == 1 ? AgentReply.Silent : Reply.Ok(task, new { ok = 2 });
        var run = harness.RunToEnd();
        var lateResult = new Communication.Bus.Contracts.AgentTaskResult
        {
            RunId = run.RunId, StepId = "a", Attempt = 1, Ok = true, Output = JsonSerializer.SerializeToElement(new { ok = 1 }),
        };

        var transition = harness.Apply(harness.GenuineResult(lateResult));

        Assert.False(transition.Changed);
        Assert.Equal(2, run.Steps[0].Output!.Value.GetProperty("ok").GetInt32());
    }

    [Fact]
    public void Skip_records_the_skipped_step_and_continues()
    {
        var harness = new EngineHarness(Of(Step("a"), Step("b", onFail: OnFail.Skip), Step("c"))).WithAgent("worker");
        harness.Behaviour = task => task.StepId == "b" ? Reply.Fail(task, "optional step broke") : Reply.Ok(task, new { step = task.StepId });

        var run = harness.RunToEnd();

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal(StepStatus.Skipped, run.Steps[1].Status);
        Assert.Equal(["b"], harness.StepEvents("step_skipped"));
        // c gets the output of the last step that succeeded (a), since b produced none.
        Assert.Equal("a", harness.Dispatched.Single(d => d.Task.StepId == "c").Task.Input.GetProperty("step").GetString());
    }

    [Fact]
    public void Abort_fails_the_run_at_the_first_failure()
    {
        var harness = new EngineHarness(Of(Step("a", onFail: OnFail.Abort, maxAttempts: 5))).WithAgent("worker");
        harness.Behaviour = task => Reply.Fail(task, "no");

        var run = harness.RunToEnd();

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Single(harness.Dispatched);
    }

    [Fact]
    public void The_workflow_timeout_ends_the_run_as_timed_out_and_ignores_in_flight_work()
    {
        var workflow = Of(Step("a", timeoutMs: 10_000)) with { TimeoutMs = 2_000 };
        var harness = new EngineHarness(workflow).WithAgent("worker");
        harness.Behaviour = task => Reply.Ok(task, new { }, TimeSpan.FromSeconds(5));

        var run = harness.RunToEnd();

        Assert.Equal(RunStatus.TimedOut, run.Status);
        Assert.Equal(StepStatus.Cancelled, run.Steps[0].Status);
        Assert.Equal("workflow_timed_out", harness.EventTypes.Last());
        Assert.Equal(TimeSpan.FromSeconds(2), run.EndedAt - run.StartedAt);
    }

    [Fact]
    public void Cancelling_ends_the_run_and_ignores_the_in_flight_attempt()
    {
        var harness = new EngineHarness(Of(Step("a", timeoutMs: 10_000))).WithAgent("worker");
        harness.Behaviour = _ => AgentReply.Silent;
        harness.Apply(new StartRun());

        harness.Apply(new CancelRun());

        Assert.Equal(RunStatus.Cancelled, harness.Run.Status);
        Assert.Empty(harness.Run.Timers);
        Assert.Equal("workflow_cancelled", harness.EventTypes.Last());
        Assert.False(harness.Apply(new CancelRun()).Changed);
    }

    [Theory]
    [InlineData(BackoffType.Exponential, new long[] { 100, 200, 400, 800, 1000 })]
    [InlineData(BackoffType.Linear, new long[] { 100, 200, 300, 400, 500 })]
    [InlineData(BackoffType.Constant, new long[] { 100, 100, 100, 100, 100 })]
    public void Retries_wait_the_configured_backoff(BackoffType type, long[] expectedDelays)
    {
        var backoff = new BackoffPolicy { Type = type, BaseMs = 100, MaxMs = 1_000, Jitter = false };
        var harness = new EngineHarness(Of(Step("a", maxAttempts: 6, backoff: backoff))).WithAgent("worker");
        harness.Behaviour = task => Reply.Fail(task, "again", delay: TimeSpan.FromMilliseconds(1));

        harness.RunToEnd();

        var delays = harness.Events.Where(e => e.Type == "step_retrying").Select(e => e.Data!.Value.GetProperty("delayMs").GetInt64());
        Assert.Equal(expectedDelays, delays);
        var starts = harness.Events.Where(e => e.Type == "step_started").Select(e => e.At).ToList();
        for (var i = 1; i < starts.Count; i++)
        {
            Assert.Equal(TimeSpan.FromMilliseconds(1 + expectedDelays[i - 1]), starts[i] - starts[i - 1]);
        }
    }

    [Fact]
    public void Jitter_draws_the_delay_from_the_upper_half_and_is_the_same_on_every_replica()
    {
        var policy = new BackoffPolicy { Type = BackoffType.Constant, BaseMs = 1_000, MaxMs = 1_000, Jitter = true };

        var delays = Enumerable.Range(1, 50).Select(n => Backoff.Delay(policy, n, "run", "step")).ToList();

        Assert.All(delays, d => Assert.InRange(d.TotalMilliseconds, 500, 1_000));
        Assert.True(delays.Distinct().Count() > 10);
        Assert.Equal(delays, Enumerable.Range(1, 50).Select(n => Backoff.Delay(policy, n, "run", "step")));
    }

    [Fact]
    public void A_capability_step_goes_to_an_active_agent_with_it_and_a_retry_moves_to_the_next()
    {
        var workflow = Of(new StepDefinition { Id = "code", Capability = "code", MaxAttempts = 2, TimeoutMs = 1_000, Backoff = new BackoffPolicy { BaseMs = 0, MaxMs = 0 } });
        var harness = new EngineHarness(workflow).WithAgent("writer", "prose").WithAgent("coder-1", "code").WithAgent("coder-2", "code");
        harness.Behaviour = task => task.Attempt == 1 ? Reply.Fail(task, "busy") : Reply.Ok(task, new { });

        harness.RunToEnd();

        var agents = harness.Dispatched.Select(d => d.Task.AgentId).ToList();
        Assert.All(agents, a => Assert.StartsWith("coder-", a, StringComparison.Ordinal));
        Assert.NotEqual(agents[0], agents[1]);
    }

    [Fact]
    public void Without_an_active_agent_the_attempt_fails_and_is_retried()
    {
        var harness = new EngineHarness(Of(Step("a", agent: "ghost", maxAttempts: 2)));

        var run = harness.RunToEnd();

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Empty(harness.Dispatched);
        Assert.Contains("No active agent 'ghost'", run.Steps[0].Error, StringComparison.Ordinal);
        Assert.Equal(2, run.Steps[0].Attempts);
    }

    [Fact]
    public void Task_message_ids_are_stable_per_run_step_and_attempt()
    {
        var first = DeterministicGuid.Create("run-1/step/a/1");

        Assert.Equal(first, DeterministicGuid.Create("run-1/step/a/1"));
        Assert.NotEqual(first, DeterministicGuid.Create("run-1/step/a/2"));
        Assert.Equal(5, first.Version);
    }

    [Fact]
    public void A_result_after_the_attempt_deadline_loses_to_the_timeout_even_before_timers_are_processed()
    {
        var harness = new EngineHarness(Of(Step("a", timeoutMs: 1_000, maxAttempts: 1))).WithAgent("worker");
        harness.Behaviour = _ => AgentReply.Silent;
        harness.Apply(new StartRun());
        harness.Clock.Advance(TimeSpan.FromMilliseconds(1_500));

        harness.Apply(harness.GenuineResult(Result("a", 1, ok: true)));

        Assert.Equal(RunStatus.Failed, harness.Run.Status);
        Assert.Contains("timed out", harness.Run.Steps[0].Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_final_result_after_the_workflow_deadline_ends_the_run_timed_out()
    {
        var harness = new EngineHarness(Of(Step("a", timeoutMs: 10_000)) with { TimeoutMs = 2_000 }).WithAgent("worker");
        harness.Behaviour = _ => AgentReply.Silent;
        harness.Apply(new StartRun());
        harness.Clock.Advance(TimeSpan.FromSeconds(3));

        harness.Apply(harness.GenuineResult(Result("a", 1, ok: true)));

        Assert.Equal(RunStatus.TimedOut, harness.Run.Status);
    }

    [Fact]
    public void A_result_whose_correlation_id_is_not_the_attempts_message_is_ignored()
    {
        var harness = new EngineHarness(Of(Step("a"))).WithAgent("worker");
        harness.Behaviour = _ => AgentReply.Silent;
        harness.Apply(new StartRun());

        var forged = harness.Apply(new StepResultReceived(Result("a", 1, ok: true), CorrelationId: Guid.NewGuid().ToString(), From: "worker"));
        var genuine = harness.Apply(new StepResultReceived(Result("a", 1, ok: true), CorrelationId: harness.Dispatched[0].MessageId, From: "worker"));

        Assert.False(forged.Changed);
        Assert.True(genuine.Changed);
        Assert.Equal(RunStatus.Succeeded, harness.Run.Status);
    }

    [Fact]
    public void Without_an_agent_even_a_zero_backoff_waits_before_the_next_attempt()
    {
        var step = Step("a", agent: "ghost", maxAttempts: 5, backoff: new BackoffPolicy { Type = BackoffType.Constant, BaseMs = 0, MaxMs = 0, Jitter = false });
        var harness = new EngineHarness(Of(step));

        var run = harness.RunToEnd();

        var delays = harness.Events.Where(e => e.Type == "step_retrying").Select(e => e.Data!.Value.GetProperty("delayMs").GetInt64()).ToList();
        Assert.Equal(4, delays.Count);
        Assert.All(delays, d => Assert.True(d >= 1_000));
        Assert.Equal(TimeSpan.FromSeconds(4), run.EndedAt - run.StartedAt);
    }

    [Fact]
    public void A_compensation_whose_agent_is_gone_is_recorded_as_failed()
    {
        var harness = new EngineHarness(Of(Step("s1", compensateWith: "undo"), Step("s2"))).WithAgent("worker");
        harness.Behaviour = task => task.StepId == "s2" ? Reply.Fail(task, "boom", retryable: false) : Reply.Ok(task, new { });

        var run = harness.RunToEnd();

        Assert.Equal(["s1"], run.CompensationFailed);
        Assert.Equal(RunStatus.Failed, run.Status);
    }

    [Fact]
    public void Cancelling_while_compensating_changes_nothing()
    {
        var harness = new EngineHarness(Of(Step("s1", compensateWith: "undo"), Step("s2"))).WithAgent("worker").WithAgent("undo");
        harness.Behaviour = task => task.StepId == "s2" && task.Kind == Communication.Bus.Contracts.AgentTaskKind.Step
            ? Reply.Fail(task, "boom", retryable: false)
            : task.Kind == Communication.Bus.Contracts.AgentTaskKind.Compensation ? AgentReply.Silent : Reply.Ok(task, new { });
        harness.Apply(new StartRun());
        harness.RunToEnd(maxSteps: 2);
        Assert.NotNull(harness.Run.Compensation);

        Assert.False(harness.Apply(new CancelRun()).Changed);
    }

    [Fact]
    public void Placeholders_that_resolve_to_nothing_give_null_alone_and_empty_text_inside_a_string()
    {
        var harness = new EngineHarness(Of(Step("a", input: new { whole = "{{input.missing}}", text = "x{{input.missing}}y", nested = "{{input.obj.deep}}" })), new { obj = new { } }).WithAgent("worker");

        harness.RunToEnd();

        var input = harness.Dispatched[0].Task.Input;
        Assert.Equal(JsonValueKind.Null, input.GetProperty("whole").ValueKind);
        Assert.Equal("xy", input.GetProperty("text").GetString());
        Assert.Equal(JsonValueKind.Null, input.GetProperty("nested").ValueKind);
    }

    private static Communication.Bus.Contracts.AgentTaskResult Result(string step, int attempt, bool ok) => new()
    {
        RunId = "run-1", StepId = step, Attempt = attempt, Ok = ok, Output = JsonSerializer.SerializeToElement(new { }),
    };
}
