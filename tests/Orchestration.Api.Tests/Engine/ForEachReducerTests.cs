using System.Text.Json;
using Orchestration.Api.Engine;
using Orchestration.Api.Model;
using static Orchestration.Api.Tests.Engine.Workflows;

namespace Orchestration.Api.Tests.Engine;

public sealed class ForEachReducerTests
{
    private static StepDefinition Each(StepDefinition step, string items, int maxConcurrency = 0) =>
        step with { ForEach = new ForEachDefinition { Items = items, MaxConcurrency = maxConcurrency } };

    [Fact]
    public void Runs_once_per_element_with_max_concurrency_and_keeps_outputs_in_order()
    {
        var workflow = Of(Each(Step("each", input: new { value = "{{item}}", at = "{{itemIndex}}" }), "{{input.list}}", maxConcurrency: 2));
        var harness = new EngineHarness(workflow, new { list = new[] { "a", "b", "c", "d" } }).WithAgent("worker");
        // Later items answer sooner, so completion order differs from element order.
        harness.Behaviour = task => Reply.Ok(task, new { echo = task.Input.GetProperty("value").GetString() },
            TimeSpan.FromMilliseconds(100 - (10 * task.Input.GetProperty("at").GetInt32())));
        var maxRunning = 0;
        var run = harness.Run;
        harness.Apply(new StartRun());
        maxRunning = Math.Max(maxRunning, harness.Run.Steps[0].Items!.Count(i => i.Status == StepStatus.Running));

        run = harness.RunToEnd();

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal(2, maxRunning);
        Assert.Equal(["each[0]", "each[1]", "each[2]", "each[3]"], harness.Dispatched.Select(d => d.Task.StepId));
        Assert.Equal(["a", "b", "c", "d"], run.Steps[0].Output!.Value.EnumerateArray().Select(o => o.GetProperty("echo").GetString()));
        Assert.Equal(run.Steps[0].Output.ToString(), run.Output.ToString());
    }

    [Fact]
    public void A_failed_item_follows_on_fail_per_item()
    {
        var workflow = Of(Each(Step("each", onFail: OnFail.Skip), "{{input.list}}"), Step("after"));
        var harness = new EngineHarness(workflow, new { list = new[] { 1, 2, 3 } }).WithAgent("worker");
        harness.Behaviour = task => task.StepId == "each[1]" ? Reply.Fail(task, "bad item") : Reply.Ok(task, new { ok = task.StepId });

        var run = harness.RunToEnd();

        Assert.Equal(RunStatus.Succeeded, run.Status);
        var output = run.Steps[0].Output!.Value;
        Assert.Equal(JsonValueKind.Null, output[1].ValueKind);
        Assert.Equal("each[2]", output[2].GetProperty("ok").GetString());
        Assert.Equal(StepStatus.Skipped, run.Steps[0].Items![1].Status);
    }

    [Fact]
    public void An_item_that_fails_for_good_fails_the_step_and_the_run_and_retries_only_itself()
    {
        var workflow = Of(Each(Step("each", maxAttempts: 2), "{{input.list}}"));
        var harness = new EngineHarness(workflow, new { list = new[] { 1, 2 } }).WithAgent("worker");
        harness.Behaviour = task => task.StepId == "each[0]" ? Reply.Fail(task, "broken") : Reply.Ok(task, new { });

        var run = harness.RunToEnd();

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal("each", run.FailedStep);
        Assert.Contains("Item 0 failed", run.Steps[0].Error, StringComparison.Ordinal);
        Assert.Equal(2, harness.Dispatched.Count(d => d.Task.StepId == "each[0]"));
        Assert.Equal(1, harness.Dispatched.Count(d => d.Task.StepId == "each[1]"));
    }

    [Fact]
    public void Items_that_are_not_an_array_or_too_many_fail_the_step_and_an_empty_array_succeeds_at_once()
    {
        var notArray = new EngineHarness(Of(Each(Step("each"), "{{input.list}}")), new { list = "x" }).WithAgent("worker").RunToEnd();
        var tooMany = new EngineHarness(Of(Each(Step("each"), "{{input.list}}")), new { list = Enumerable.Range(0, 101).ToArray() }).WithAgent("worker").RunToEnd();
        var empty = new EngineHarness(Of(Each(Step("each"), "{{input.list}}")), new { list = Array.Empty<int>() }).WithAgent("worker").RunToEnd();

        Assert.Equal(RunStatus.Failed, notArray.Status);
        Assert.Contains("not an array", notArray.Steps[0].Error, StringComparison.Ordinal);
        Assert.Equal(RunStatus.Failed, tooMany.Status);
        Assert.Contains("Orchestration:MaxForEachItems", tooMany.Steps[0].Error, StringComparison.Ordinal);
        Assert.Equal(RunStatus.Succeeded, empty.Status);
        Assert.Equal(0, empty.Steps[0].Output!.Value.GetArrayLength());
    }

    [Fact]
    public void Items_can_come_from_an_ancestors_output_and_a_forged_item_result_is_ignored()
    {
        var workflow = Of(Step("plan"), Each(Step("each"), "{{steps.plan.output.tasks}}"));
        var harness = new EngineHarness(workflow).WithAgent("worker");
        harness.Behaviour = _ => AgentReply.Silent;
        harness.Apply(new StartRun());
        harness.Apply(harness.GenuineResult(new Communication.Bus.Contracts.AgentTaskResult
        {
            RunId = "run-1", StepId = "plan", Attempt = 1, Ok = true, AgentId = "worker", Output = JsonSerializer.SerializeToElement(new { tasks = new[] { "x", "y" } }),
        }));

        var item = harness.Dispatched.Single(d => d.Task.StepId == "each[1]");
        var result = new Communication.Bus.Contracts.AgentTaskResult { RunId = "run-1", StepId = "each[1]", Attempt = 1, Ok = true, AgentId = "worker" };
        var forged = harness.Apply(new StepResultReceived(result, item.MessageId, "intruder"));

        var genuine = harness.Apply(new StepResultReceived(result, item.MessageId, "worker"));

        Assert.Equal("y", item.Task.Input.GetString());
        Assert.False(forged.Changed);
        Assert.True(genuine.Changed);
        Assert.Equal(StepStatus.Succeeded, harness.Run.Steps[1].Items![1].Status);
    }
}
