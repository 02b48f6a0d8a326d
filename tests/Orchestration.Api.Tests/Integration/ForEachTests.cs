using System.Text.Json.Nodes;
using static Orchestration.Api.Tests.Integration.OrchestrationClient;

namespace Orchestration.Api.Tests.Integration;

/// <summary>A forEach step over the real bus: one task per element, ordered outputs, items in the run view.</summary>
[Trait("Category", "Cluster")]
public sealed class ForEachTests : IntegrationTest
{
    [Fact]
    public async Task A_for_each_step_runs_every_element_and_its_output_keeps_their_order()
    {
        var worker = await AgentAsync("worker", task => task.StepId == "plan"
            ? AgentAction.Succeed(new { tasks = new[] { "write", "test", "ship" } })
            : AgentAction.Succeed(new { done = task.Input.GetProperty("task").GetString(), at = task.Input.GetProperty("at").GetInt32() }));
        var each = Wf.Step("each", agent: "worker", input: new { task = "{{item}}", at = "{{itemIndex}}" });
        each["forEach"] = new JsonObject { ["items"] = "{{steps.plan.output.tasks}}", ["maxConcurrency"] = 2 };
        await Api.PutWorkflowAsync(Wf.Of("fan", Wf.Step("plan", agent: "worker"), each), Ct);

        var run = await Api.WaitForRunAsync(await Api.StartRunAsync("fan", cancellationToken: Ct), cancellationToken: Ct);

        Assert.Equal("SUCCEEDED", Status(run));
        var output = Step(run, "each").GetProperty("output");
        Assert.Equal(["write", "test", "ship"], output.EnumerateArray().Select(o => o.GetProperty("done").GetString()));
        var items = Step(run, "each").GetProperty("items");
        Assert.Equal(3, items.GetArrayLength());
        Assert.All(items.EnumerateArray(), i => Assert.Equal("SUCCEEDED", i.GetProperty("status").GetString()));
        Assert.Equal(1, items[2].GetProperty("attemptHistory").GetArrayLength());
        Assert.Equal(1, worker.Deliveries(run.GetProperty("runId").GetString()!, "each[2]"));
    }
}
