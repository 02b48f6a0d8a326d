using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Communication.Bus;
using Communication.Bus.Contracts;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;
using TestSupport;

namespace Orchestration.Api.Tests.Functional;

/// <summary>A run keeps the trace of the request that started it: every TASK it sends continues it.</summary>
public sealed class TraceContinuityTests
{
    [Fact]
    public async Task Every_task_of_a_run_carries_the_trace_of_the_start_request()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var redis = await RedisServer.StartAsync();
        await using var factory = new ServiceFactory<Program>(redis.ConnectionString);
        using var api = factory.CreateAuthorizedClient();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        await using var bus = new RedisMessageBus(connection, new CommunicationBusSettings
        {
            ServiceName = "tracer",
            Signing = { Keys = { new SigningKeySettings { Id = "test", Secret = "test-signing-secret-0123456789abcdefghijklmnop" } } },
        }, TimeProvider.System, NullLoggerFactory.Instance);
        var traceparents = new List<string>();
        await using var agent = await bus.SubscribeAsync("agent.tracer", async (message, token) =>
        {
            lock (traceparents)
            {
                traceparents.Add(message.Meta.GetValueOrDefault("traceparent") ?? "");
            }

            var task = message.GetPayload<AgentTask>()!;
            await bus.ReplyAsync(message, new AgentTaskResult { RunId = task.RunId, StepId = task.StepId, Attempt = task.Attempt, Ok = true, Output = JsonSerializer.SerializeToElement(new { }) }, MessageType.TaskResult, token);
        }, new SubscriptionOptions { ReadFromBeginning = true }, ct);
        (await api.PostAsJsonAsync("/api/agents", new { id = "tracer", name = "Tracer", capabilities = new[] { "trace" } }, ct)).EnsureSuccessStatusCode();
        (await api.PutAsJsonAsync("/api/workflows/traced", new { steps = new object[] { new { id = "one", agent = "tracer" }, new { id = "two", agent = "tracer" } } }, ct)).EnsureSuccessStatusCode();
        var traceId = ActivityTraceId.CreateRandom();

        // The caller's trace: its HTTP client sends it as traceparent.
        using var caller = new Activity("caller").SetParentId(traceId, ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded).Start();
        using var response = await api.PostAsJsonAsync("/api/workflows/traced/runs?waitMs=10000", new { input = new { } }, ct);
        caller.Stop();
        var run = await response.Content.ReadFromJsonAsync<JsonElement>(ct);

        Assert.Equal("SUCCEEDED", run.GetProperty("status").GetString());
        Assert.Equal(2, traceparents.Count);
        Assert.All(traceparents, tp => Assert.Equal(traceId.ToString(), tp.Split('-')[1]));
    }
}
