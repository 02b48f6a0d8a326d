using System.Text.Json.Nodes;
using static Orchestration.Api.Tests.Integration.OrchestrationClient;

namespace Orchestration.Api.Tests.Integration;

/// <summary>A debate step over the real bus and Redis: turns as tasks, a failing participant retried or skipped, the judge's verdict.</summary>
public sealed class DebateTests : IntegrationTest
{
    private static JsonObject Debate(string onFail, int maxAttempts)
    {
        var step = Wf.Step("debate", onFail: onFail, maxAttempts: maxAttempts, input: new { request = "{{input.request}}" });
        step["type"] = "debate";
        step["debate"] = new JsonObject
        {
            ["participants"] = new JsonArray(new JsonObject { ["agent"] = "architect" }, new JsonObject { ["agent"] = "engineer" }, new JsonObject { ["agent"] = "security" }),
            ["rounds"] = 2,
            ["judge"] = new JsonObject { ["agent"] = "leader" },
            ["criteria"] = new JsonArray("simplicity"),
        };
        return step;
    }

    private async Task AgentsAsync(Func<Communication.Bus.Contracts.AgentTask, AgentAction>? security = null)
    {
        static AgentAction Speak(Communication.Bus.Contracts.AgentTask task) =>
            AgentAction.Succeed(new { text = $"{task.AgentId} in round {task.Input.GetProperty("round").GetInt32()}" });
        await AgentAsync("architect", Speak);
        await AgentAsync("engineer", Speak);
        await AgentAsync("security", security ?? Speak);
        await AgentAsync("leader", _ => AgentAction.Succeed(new
        {
            scores = new[] { new { participant = "architect", score = 8 }, new { participant = "engineer", score = 6 } },
            winner = "architect",
            decision = "The architect's design.",
            consensus = false,
        }));
    }

    [Fact]
    public async Task A_participant_failing_once_is_retried_and_the_debate_completes_with_every_voice()
    {
        await AgentsAsync(security: task => task.Attempt == 1 ? AgentAction.Fail("busy") : AgentAction.Succeed(new { text = "security agrees" }));
        await Api.PutWorkflowAsync(Wf.Of("debate-retry", Debate("RETRY", maxAttempts: 3)), Ct);

        var run = await Api.WaitForRunAsync(await Api.StartRunAsync("debate-retry", new { request = "a cache" }, cancellationToken: Ct), cancellationToken: Ct);

        Assert.Equal("SUCCEEDED", Status(run));
        var output = Step(run, "debate").GetProperty("output");
        Assert.Equal(6, output.GetProperty("transcript").GetArrayLength());
        Assert.Equal("The architect's design.", output.GetProperty("decision").GetString());
        var items = Step(run, "debate").GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(7, items.Count);
        var security = items.Where(i => i.TryGetProperty("participant", out var p) && p.GetString() == "security").ToList();
        Assert.Equal([1, 2], security.Select(i => i.GetProperty("round").GetInt32()));
        Assert.All(security, i => Assert.Equal(2, i.GetProperty("attempts").GetInt32()));
    }

    [Fact]
    public async Task A_participant_that_fails_under_skip_sits_out_and_the_judge_reads_the_others()
    {
        await AgentsAsync(security: _ => AgentAction.Fail("down", retryable: false));
        await Api.PutWorkflowAsync(Wf.Of("debate-skip", Debate("SKIP", maxAttempts: 2)), Ct);

        var run = await Api.WaitForRunAsync(await Api.StartRunAsync("debate-skip", new { request = "a cache" }, cancellationToken: Ct), cancellationToken: Ct);

        Assert.Equal("SUCCEEDED", Status(run));
        var output = Step(run, "debate").GetProperty("output");
        Assert.Equal(["architect", "engineer", "architect", "engineer"], output.GetProperty("transcript").EnumerateArray().Select(t => t.GetProperty("participant").GetString()));
        var items = Step(run, "debate").GetProperty("items").EnumerateArray().ToList();
        Assert.Equal("SKIPPED", items.Single(i => i.TryGetProperty("participant", out var p) && p.GetString() == "security").GetProperty("status").GetString());
        Assert.Equal("judge", items[^1].GetProperty("role").GetString());
        Assert.Equal("architect", output.GetProperty("winner").GetString());
    }
}
