using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TestSupport;

namespace Agents.Hosting.Tests;

/// <summary>
/// The sample outside agent (samples/AgentFramework.Writer: a ChatClientAgent joined with AddBusAgent) as its own
/// process against real Redis and orchestration-api: it registers itself and does a workflow's steps.
/// </summary>
public sealed class SampleAgentTests(AgentTeamFixture platform)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_sample_agent_process_registers_itself_and_a_workflow_run_of_its_steps_succeeds_with_its_output()
    {
        const string AgentId = "maf-writer-sample";
        await using var agent = SampleAgentProcess.Start(new Dictionary<string, string?>(platform.AgentSettings(AgentId))
        {
            ["Writer:Id"] = AgentId,
            [$"Agents:{AgentId}:Capabilities:0"] = "sample-writing",
        });

        var registered = await Eventually.ValueAsync(
            async () => agent.HasExited ? throw new InvalidOperationException($"The sample agent exited:\n{agent.Output}")
                : await platform.Api.GetAsync($"/api/agents/{AgentId}", Ct) is { StatusCode: HttpStatusCode.OK } found
                    ? await found.Content.ReadFromJsonAsync<JsonElement>(Ct) : (JsonElement?)null,
            a => a is not null, TimeSpan.FromSeconds(60), $"the sample agent registers\n--- agent output ---\n{agent.Output}");
        Assert.Equal($"outside.{AgentId}", registered!.Value.GetProperty("sender").GetString());
        Assert.Equal("agent.maf-writer-sample", registered.Value.GetProperty("topic").GetString());
        Assert.Equal("Writer (Agent Framework)", registered.Value.GetProperty("name").GetString());
        Assert.Equal("agent-framework", registered.Value.GetProperty("metadata").GetProperty("kind").GetString());
        Assert.Equal("active", registered.Value.GetProperty("status").GetString());

        // One step names the agent, the next its capability and reads the first step's answer.
        using var put = await platform.Api.PutAsJsonAsync("/api/workflows/maf-sample", new
        {
            id = "maf-sample",
            steps = new object[]
            {
                new { id = "draft", agent = AgentId, input = new { request = "{{input.request}}" }, timeoutMs = 30_000 },
                new { id = "polish", capability = "sample-writing", input = new { draft = "{{steps.draft.output.text}}" }, timeoutMs = 30_000 },
            },
        }, Ct);
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync(Ct));

        using var start = await platform.Api.PostAsJsonAsync("/api/workflows/maf-sample/runs", new { input = new { request = "A habit tracker for teams" } }, Ct);
        Assert.True(start.IsSuccessStatusCode, await start.Content.ReadAsStringAsync(Ct));
        var runId = (await start.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("runId").GetString();

        var run = await Eventually.ValueAsync(
            async () => await platform.Api.GetFromJsonAsync<JsonElement>($"/api/runs/{runId}", Ct),
            r => r.GetProperty("status").GetString() is "SUCCEEDED" or "FAILED" or "CANCELLED" or "TIMED_OUT",
            TimeSpan.FromSeconds(60), $"the run ends\n--- agent output ---\n{agent.Output}");

        Assert.True(run.GetProperty("status").GetString() == "SUCCEEDED", run.ToString());
        var steps = run.GetProperty("steps").EnumerateArray().ToDictionary(s => s.GetProperty("id").GetString()!);
        var draft = steps["draft"].GetProperty("output");
        Assert.Equal(AgentId, draft.GetProperty("agent").GetString());
        Assert.Equal("[offline] Draft for: A habit tracker for teams", draft.GetProperty("text").GetString());
        var polish = steps["polish"].GetProperty("output");
        Assert.Equal("[offline] Draft for: [offline] Draft for: A habit tracker for teams", polish.GetProperty("text").GetString());
    }
}
