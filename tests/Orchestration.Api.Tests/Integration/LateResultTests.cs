using static Orchestration.Api.Tests.Integration.OrchestrationClient;

namespace Orchestration.Api.Tests.Integration;

/// <summary>An answer to an attempt that already timed out must not complete the step.</summary>
public sealed class LateResultTests : IntegrationTest
{
    private static bool Attempt1TimedOut(System.Text.Json.JsonElement run) =>
        Step(run, "s1").GetProperty("attemptHistory") is { } history && history.GetArrayLength() > 0 && Value(history[0], "error") is not null;

    private static bool UsedAttempt1(System.Text.Json.JsonElement run) =>
        Value(Step(run, "s1"), "output") is { } output && output.GetProperty("from").GetString() == "attempt 1";

    [Fact]
    public async Task An_answer_of_attempt_1_arriving_while_attempt_2_runs_is_ignored_and_the_run_uses_attempt_2s_output()
    {
        // Both answers are held: attempt 1's is let go only once attempt 2 is running, attempt 2's only after that.
        var worker = await AgentAsync("worker", task => AgentAction.Succeed(new { from = $"attempt {task.Attempt}" }).WhenReleased());
        await Api.PutWorkflowAsync(Wf.Of("late", Wf.Step("s1", agent: "worker", maxAttempts: 2, timeoutMs: 5_000, backoffMs: 100)), Ct);
        var runId = await Api.StartRunAsync("late", cancellationToken: Ct);
        var first = await worker.WaitForTaskAsync(runId, "s1", attempt: 1);
        var second = await worker.WaitForTaskAsync(runId, "s1", attempt: 2);

        first.Release();
        await WaitUntilHandledAsync(await first.Replied);
        var afterLateAnswer = await Api.GetRunAsync(runId, Ct);
        second.Release();
        var run = await Api.WaitForRunAsync(runId, cancellationToken: Ct);

        Assert.Equal("RUNNING", Status(afterLateAnswer));
        Assert.Equal("RUNNING", Step(afterLateAnswer, "s1").GetProperty("status").GetString());
        Assert.Equal(2, Step(afterLateAnswer, "s1").GetProperty("attempts").GetInt32());
        Assert.Contains("timed out", Step(afterLateAnswer, "s1").GetProperty("attemptHistory")[0].GetProperty("error").GetString());
        Assert.Null(Value(Step(afterLateAnswer, "s1"), "output"));
        Assert.Equal("SUCCEEDED", Status(run));
        Assert.Equal("attempt 2", run.GetProperty("output").GetProperty("from").GetString());
        Assert.Equal("attempt 2", Step(run, "s1").GetProperty("output").GetProperty("from").GetString());
        Assert.Equal(2, Step(run, "s1").GetProperty("attempts").GetInt32());
        Assert.Equal(1, worker.Deliveries(runId, "s1", 1));
        Assert.Equal(1, worker.Deliveries(runId, "s1", 2));
        Assert.Empty(worker.Errors);
    }

    [Fact]
    public async Task An_answer_of_attempt_1_arriving_during_the_retry_backoff_is_ignored_and_the_run_uses_attempt_2s_output()
    {
        var worker = await AgentAsync("worker", task => task.Attempt == 1
            ? AgentAction.Succeed(new { from = "attempt 1" }).WhenReleased()
            : AgentAction.Succeed(new { from = "attempt 2" }));
        await Api.PutWorkflowAsync(Wf.Of("late", Wf.Step("s1", agent: "worker", maxAttempts: 2, timeoutMs: 2_000, backoffMs: 3_000)), Ct);
        var runId = await Api.StartRunAsync("late", cancellationToken: Ct);
        var first = await worker.WaitForTaskAsync(runId, "s1", attempt: 1);
        var timedOut = await Api.WaitForRunAsync(runId, Attempt1TimedOut, because: "attempt 1 times out", cancellationToken: Ct);

        first.Release();
        await WaitUntilHandledAsync(await first.Replied);
        var afterLateAnswer = await Api.GetRunAsync(runId, Ct);
        var run = await Api.WaitForRunAsync(runId, cancellationToken: Ct);

        Assert.Equal("RETRYING", Step(timedOut, "s1").GetProperty("status").GetString());
        Assert.False(UsedAttempt1(afterLateAnswer), $"the late answer of attempt 1 was used: {afterLateAnswer}");
        Assert.Equal("SUCCEEDED", Status(run));
        Assert.Equal("attempt 2", run.GetProperty("output").GetProperty("from").GetString());
        Assert.Equal(2, Step(run, "s1").GetProperty("attempts").GetInt32());
        Assert.Equal(1, worker.Deliveries(runId, "s1", 1));
        Assert.Equal(1, worker.Deliveries(runId, "s1", 2));
    }
}
