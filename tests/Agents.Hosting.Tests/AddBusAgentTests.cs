using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Agents.AI;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TestSupport;

namespace Agents.Hosting.Tests;

/// <summary>
/// <see cref="BusAgentExtensions.AddBusAgent"/> in an in-process host against real Redis and orchestration-api: the one
/// call registers the agent, keeps it registered, answers tasks with signed results the run accepts, and traces them.
/// </summary>
public sealed class AddBusAgentTests(AgentTeamFixture platform)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private IHost Host(string agentId, IChatClient chat, Action<BusAgentOptions>? configure = null, IDictionary<string, string?>? settings = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(platform.AgentSettings(agentId));
        builder.Configuration.AddInMemoryCollection(settings ?? new Dictionary<string, string?>());
        builder.AddBusAgent(agentId, _ => new ChatClientAgent(chat, name: $"Agent {agentId}", instructions: "Answer briefly."), options =>
        {
            options.Capabilities.Add($"{agentId}-work");
            configure?.Invoke(options);
        });
        return builder.Build();
    }

    private async Task<JsonElement?> AgentAsync(string agentId)
    {
        using var response = await platform.Api.GetAsync($"/api/agents/{agentId}", Ct);
        return response.StatusCode == HttpStatusCode.OK ? await response.Content.ReadFromJsonAsync<JsonElement>(Ct) : null;
    }

    private async Task<JsonElement> RunAsync(string workflowId, string agentId, object input)
    {
        using var put = await platform.Api.PutAsJsonAsync($"/api/workflows/{workflowId}", new
        {
            id = workflowId,
            steps = new object[] { new { id = "work", agent = agentId, timeoutMs = 30_000, maxAttempts = 1 } },
        }, Ct);
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync(Ct));
        using var start = await platform.Api.PostAsJsonAsync($"/api/workflows/{workflowId}/runs", new { input }, Ct);
        Assert.True(start.IsSuccessStatusCode, await start.Content.ReadAsStringAsync(Ct));
        var runId = (await start.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("runId").GetString();
        return await Eventually.ValueAsync(
            async () => await platform.Api.GetFromJsonAsync<JsonElement>($"/api/runs/{runId}", Ct),
            r => r.GetProperty("status").GetString() is "SUCCEEDED" or "FAILED" or "CANCELLED" or "TIMED_OUT",
            TimeSpan.FromSeconds(60), "the run ends");
    }

    [Fact]
    public async Task One_call_registers_the_agent_with_its_bus_name_and_registers_it_again_when_it_is_forgotten()
    {
        const string AgentId = "maf-registered";
        using var host = Host(AgentId, new ScriptedChatClient());
        await host.StartAsync(Ct);
        try
        {
            var registered = await Eventually.ValueAsync(() => AgentAsync(AgentId), a => a is not null, TimeSpan.FromSeconds(30), "the agent registers");
            Assert.Equal($"outside.{AgentId}", registered!.Value.GetProperty("sender").GetString());
            Assert.Equal([$"{AgentId}-work"], registered.Value.GetProperty("capabilities").EnumerateArray().Select(c => c.GetString()!));
            Assert.Equal($"Agent {AgentId}", registered.Value.GetProperty("name").GetString());

            using var deleted = await platform.Api.DeleteAsync($"/api/agents/{AgentId}", Ct);
            Assert.True(deleted.IsSuccessStatusCode, await deleted.Content.ReadAsStringAsync(Ct));

            // The next heartbeat finds the agent unknown and registers it again.
            await Eventually.ValueAsync(() => AgentAsync(AgentId), a => a is not null, TimeSpan.FromSeconds(30), "the agent registers again");
        }
        finally
        {
            await host.StopAsync(Ct);
        }
    }

    [Fact]
    public async Task A_workflow_step_for_the_agent_succeeds_with_its_answer_inside_the_tasks_trace()
    {
        const string AgentId = "maf-worker";
        var spans = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is BusAgentTelemetry.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(listener);
        var chat = new ScriptedChatClient();
        using var host = Host(AgentId, chat);
        await host.StartAsync(Ct);
        try
        {
            await Eventually.ValueAsync(() => AgentAsync(AgentId), a => a is not null, TimeSpan.FromSeconds(30), "the agent registers");

            var run = await RunAsync("maf-worker-flow", AgentId, new { request = "Plan the release" });

            Assert.True(run.GetProperty("status").GetString() == "SUCCEEDED", run.ToString());
            var output = run.GetProperty("steps")[0].GetProperty("output");
            Assert.Equal("answer to: ## request\nPlan the release", output.GetProperty("text").GetString()!.ReplaceLineEndings("\n"));
            Assert.Equal(AgentId, output.GetProperty("agent").GetString());
            var span = Assert.Single(spans, s => s.GetTagItem("agentteam.run_id") as string == run.GetProperty("runId").GetString());
            Assert.Equal($"invoke_agent {AgentId}", span.DisplayName);
            Assert.NotEqual(default, span.ParentSpanId);
        }
        finally
        {
            await host.StopAsync(Ct);
        }
    }

    [Fact]
    public async Task An_agent_that_fails_fails_the_step_with_its_error()
    {
        const string AgentId = "maf-failing";
        var chat = new ScriptedChatClient { Answer = (_, _, _) => throw new InvalidOperationException("The model is out of ideas.") };
        using var host = Host(AgentId, chat, o => o.IsRetryable = _ => false);
        await host.StartAsync(Ct);
        try
        {
            await Eventually.ValueAsync(() => AgentAsync(AgentId), a => a is not null, TimeSpan.FromSeconds(30), "the agent registers");

            var run = await RunAsync("maf-failing-flow", AgentId, new { request = "Anything" });

            Assert.True(run.GetProperty("status").GetString() == "FAILED", run.ToString());
            Assert.Contains("The model is out of ideas.", run.GetProperty("steps")[0].GetProperty("error").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            await host.StopAsync(Ct);
        }
    }

    [Fact]
    public async Task Registrations_and_heartbeats_carry_an_unsampled_trace_context_so_the_registry_records_no_trace_for_them()
    {
        const string AgentId = "maf-quiet";
        var calls = new ConcurrentQueue<(string Path, string TraceParent)>();
        var registry = WebApplication.CreateSlimBuilder();
        registry.WebHost.UseUrls("http://127.0.0.1:0");
        await using var app = registry.Build();
        app.MapPost("/api/agents", (HttpRequest request) =>
        {
            calls.Enqueue((request.Path, request.Headers["traceparent"].ToString()));
            return Results.Json(new { id = AgentId });
        });
        app.MapPost("/api/agents/{id}/heartbeat", (HttpRequest request) =>
        {
            calls.Enqueue((request.Path, request.Headers["traceparent"].ToString()));
            return Results.Ok();
        });
        await app.StartAsync(Ct);
        using var host = Host(AgentId, new ScriptedChatClient(), o => o.HeartbeatInterval = TimeSpan.FromSeconds(1),
            new Dictionary<string, string?> { ["Clients:orchestration-api:BaseAddress"] = app.Urls.First() });
        await host.StartAsync(Ct);
        try
        {
            await Eventually.TrueAsync(() => calls.Count(c => c.Path.EndsWith("/heartbeat", StringComparison.Ordinal)) >= 2,
                TimeSpan.FromSeconds(30), "the agent registers and heartbeats");
        }
        finally
        {
            await host.StopAsync(Ct);
        }

        // W3C traceparent: version-traceid-parentid-flags; flags 00 = not sampled.
        Assert.Contains(calls, c => c.Path == "/api/agents");
        Assert.All(calls, c => Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-00$", c.TraceParent));
    }
}
