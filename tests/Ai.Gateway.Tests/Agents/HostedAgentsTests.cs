using System.Diagnostics;
using System.Text.Json;
using Agents.Hosting;
using Ai.Gateway.Agents;
using Ai.Gateway.Tests.Policy;
using Communication.Bus;
using Communication.Bus.Contracts;
using Microsoft.Agents.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using TestSupport;

namespace Ai.Gateway.Tests.Agents;

/// <summary>The gateway's hosted agents take TASKs from the bus and answer with results and usage.</summary>
public sealed class HostedAgentsTests : IAsyncLifetime
{
    // A Redis of its own: every gateway on a shared Redis would join the agents' consumer groups.
    private RedisServer _redis = null!;
    private ServiceFactory<Program> _factory = null!;
    private ConnectionMultiplexer _connection = null!;
    private RedisMessageBus _orchestrator = null!;

    public async ValueTask InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _factory = new ServiceFactory<Program>(_redis.ConnectionString);
        _factory.CreateClient().Dispose(); // starts the host: its hosted agents subscribe to their topics
        _connection = await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString);
        _orchestrator = new RedisMessageBus(_connection, new CommunicationBusSettings
        {
            ServiceName = "orchestration-test",
            Signing = { Keys = { new SigningKeySettings { Id = "test", Secret = "test-signing-secret-0123456789abcdefghijklmnop" } } },
        }, TimeProvider.System, NullLoggerFactory.Instance);
    }

    public async ValueTask DisposeAsync()
    {
        await _orchestrator.DisposeAsync();
        await _connection.DisposeAsync();
        await _factory.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task A_task_whose_payload_is_not_an_agent_task_is_dead_lettered_at_once_as_invalid_payload()
    {
        await _orchestrator.PublishAsync(OutgoingMessage.Create(MessageType.Task, "agent.engineer", Array.Empty<int>()), TestContext.Current.CancellationToken);

        var letter = await Eventually.ValueAsync(
            async () => (await _orchestrator.DeadLetters.ListAsync("agent.engineer")).FirstOrDefault(),
            l => l is not null, TimeSpan.FromSeconds(30));
        Assert.Equal(RejectionReasons.InvalidPayload, letter!.Reason);
        Assert.Equal(1, letter.DeliveryCount);
        Assert.Contains("AgentTask", letter.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void The_default_team_has_the_six_roles_with_english_and_arabic_prompts()
    {
        var options = _factory.Services.GetRequiredService<IOptions<HostedAgentsOptions>>().Value;

        Assert.Equal(["architect", "engineer", "product-manager", "qa", "security-reviewer", "team-leader"], options.Agents.Keys.Order());
        Assert.All(options.Agents.Values, a =>
        {
            Assert.False(string.IsNullOrWhiteSpace(a.Prompts["en"]));
            Assert.Contains(a.Prompts["ar"], c => c is >= '\u0600' and <= '\u06FF');
        });
        var capabilities = options.Agents.Values.SelectMany(a => a.Capabilities).ToHashSet();
        Assert.Superset(new HashSet<string> { "request-analysis", "prd", "architecture", "code", "review" }, capabilities);
    }

    [Fact]
    public void Each_agent_is_an_agent_framework_agent_joined_with_the_one_agent_loop()
    {
        var services = _factory.Services.GetServices<IHostedService>().OfType<BusAgentService>().ToList();

        Assert.Equal(["architect", "engineer", "product-manager", "qa", "security-reviewer", "team-leader"], services.Select(s => s.Agent.Id).Order());
        Assert.All(services, s => Assert.IsType<ChatClientAgent>(s.Agent.Agent));
        Assert.DoesNotContain(_factory.Services.GetServices<IHostedService>(), s => s.GetType().Namespace == typeof(HostedAgentFactory).Namespace);
    }

    [Fact]
    public async Task A_task_on_an_agents_topic_is_answered_with_output_and_model_usage_metadata()
    {
        var task = new AgentTask
        {
            RunId = "run-x", WorkflowId = "wf", StepId = "prd", Attempt = 1, AgentId = "product-manager",
            Input = JsonSerializer.SerializeToElement(new { task = "Write the PRD", request = "A habit tracker" }),
        };

        var reply = await _orchestrator.RequestAsync(
            OutgoingMessage.Create(MessageType.Task, "agent.product-manager", task, qos: QualityOfService.ExactlyOnce),
            TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.Equal(MessageType.TaskResult, reply.Type);
        var result = reply.GetPayload<AgentTaskResult>()!;
        Assert.True(result.Ok, result.Error);
        Assert.Equal(("run-x", "prd", 1), (result.RunId, result.StepId, result.Attempt));
        Assert.Equal("product-manager", result.AgentId);
        Assert.Equal("product-manager", result.Output!.Value.GetProperty("agent").GetString());
        Assert.Contains("habit tracker", result.Output.Value.GetProperty("text").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal("offline", result.Metadata!.Model);
        Assert.True(result.Metadata.TotalTokens > 0);
        Assert.True(result.Metadata.LatencyMs >= 0);
    }

    [Fact]
    public async Task Arabic_agents_answer_with_their_arabic_system_prompt()
    {
        await using var arabic = new ServiceFactory<Program>(_redis.ConnectionString, new Dictionary<string, string?>
        {
            ["HostedAgents:Language"] = "ar",
            ["HostedAgents:Agents:team-leader:Topic"] = "agent.team-leader-ar",
        });
        arabic.CreateClient().Dispose();
        var task = new AgentTask
        {
            RunId = "run-ar", WorkflowId = "wf", StepId = "analysis", Attempt = 1, AgentId = "team-leader",
            Input = JsonSerializer.SerializeToElement(new { request = "تطبيق لتتبع العادات" }),
        };

        var reply = await _orchestrator.RequestAsync(OutgoingMessage.Create(MessageType.Task, "agent.team-leader-ar", task),
            TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        var text = reply.GetPayload<AgentTaskResult>()!.Output!.Value.GetProperty("text").GetString()!;
        Assert.Contains("قائد فريق", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_model_call_for_a_task_continues_the_tasks_trace()
    {
        var traceId = ActivityTraceId.CreateRandom();
        var modelCalls = new System.Collections.Concurrent.ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == Ai.Gateway.Policy.GatewayChatClient.TelemetrySource,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity => modelCalls.Add(activity),
        };
        ActivitySource.AddActivityListener(listener);
        var task = new AgentTask
        {
            RunId = "run-trace", WorkflowId = "wf", StepId = "analysis", Attempt = 1, AgentId = "team-leader",
            Input = JsonSerializer.SerializeToElement(new { request = "trace me" }),
        };

        // The orchestrator publishes inside the run's trace; the bus carries it in meta.traceparent.
        using var run = new Activity("run").SetParentId(traceId, ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded).Start();
        var reply = await _orchestrator.RequestAsync(OutgoingMessage.Create(MessageType.Task, "agent.team-leader", task),
            TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.True(reply.GetPayload<AgentTaskResult>()!.Ok);
        Assert.True(modelCalls.Any(a => a.TraceId == traceId && a.OperationName.StartsWith("chat", StringComparison.Ordinal)), string.Join("; ", modelCalls.Select(a => $"{a.Source.Name}/{a.OperationName}/{a.DisplayName}/{a.TraceId}")));
    }
}
