using System.Text.Json;
using Ai.Gateway.Tests.Fakes;
using Communication.Bus;
using Communication.Bus.Contracts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using StackExchange.Redis;
using TestSupport;

namespace Ai.Gateway.Tests.Agents;

/// <summary>
/// The hosted agents against a stand-in orchestration-api: what they register, and their logs (every line of a task's
/// work carries its run, step and agent; heartbeats stay quiet).
/// </summary>
public sealed class HostedAgentLoggingTests : IAsyncLifetime
{
    private const string GatewayKey = "gateway-service-key-0123456789";
    // A Redis of its own: every gateway on a shared Redis would join the agents' consumer groups.
    private RedisServer _redis = null!;
    private FakeOpenAIServer _orchestrationApi = null!;
    private ServiceFactory<Program> _factory = null!;
    private ConnectionMultiplexer _connection = null!;
    private RedisMessageBus _orchestrator = null!;

    public async ValueTask InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        // Any 200 will do for registration and heartbeats: a scripted server stands in for orchestration-api.
        _orchestrationApi = await FakeOpenAIServer.StartNewAsync();
        _factory = new ServiceFactory<Program>(_redis.ConnectionString, new Dictionary<string, string?>
        {
            ["HostedAgents:ApiKey"] = GatewayKey,
            ["HostedAgents:OrchestrationUrl"] = _orchestrationApi.BaseAddress.ToString(),
            ["HostedAgents:HeartbeatInterval"] = "00:00:01",
            ["Logging:LogLevel:Ai.Gateway"] = "Debug",
            // The agent loop (Agents.Hosting) logs each task taken and answered at Debug.
            ["Logging:LogLevel:Agents.Hosting"] = "Debug",
        })
        {
            ConfigureServices = services => services.AddLogging(logging => logging.AddFakeLogging()),
        };
        _factory.CreateClient().Dispose();
        _connection = await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString);
        _orchestrator = new RedisMessageBus(_connection, new CommunicationBusSettings
        {
            ServiceName = "orchestration-test",
            Signing = { Keys = { new SigningKeySettings { Id = TestSecrets.SigningKeyId, Secret = TestSecrets.SigningSecret } } },
        }, TimeProvider.System, NullLoggerFactory.Instance);
    }

    public async ValueTask DisposeAsync()
    {
        await _orchestrator.DisposeAsync();
        await _connection.DisposeAsync();
        await _factory.DisposeAsync();
        await _orchestrationApi.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private FakeLogCollector Logs => _factory.Services.GetRequiredService<FakeLogCollector>();

    [Fact]
    public async Task Lines_logged_while_an_agent_works_carry_the_run_step_and_agent()
    {
        var task = new AgentTask
        {
            RunId = "run-scoped", WorkflowId = "wf", StepId = "review", Attempt = 1, AgentId = "qa",
            Input = JsonSerializer.SerializeToElement(new { code = "print('hi')" }),
        };

        var reply = await _orchestrator.RequestAsync(OutgoingMessage.Create(MessageType.Task, "agent.qa", task),
            TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        Assert.True(reply.GetPayload<AgentTaskResult>()!.Ok);

        var lines = Logs.GetSnapshot().Where(r => r.Message.Contains("run-scoped", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(lines);
        Assert.All(lines, line =>
        {
            var scope = line.Scopes.OfType<IEnumerable<KeyValuePair<string, object?>>>().SelectMany(s => s)
                .ToDictionary(p => p.Key, p => p.Value?.ToString());
            Assert.Equal("run-scoped", scope.GetValueOrDefault("RunId"));
            Assert.Equal("review", scope.GetValueOrDefault("StepId"));
            Assert.Equal("qa", scope.GetValueOrDefault("AgentId"));
        });
    }

    [Fact]
    public async Task Heartbeats_write_no_information_lines()
    {
        // Registration, then heartbeats of every agent, several rounds.
        await Eventually.TrueAsync(() => _orchestrationApi.Requests.Count(r => r.Path.EndsWith("/heartbeat", StringComparison.Ordinal)) >= 12,
            because: "the agents send heartbeats");

        var lines = Logs.GetSnapshot()
            .Where(r => r.Level >= LogLevel.Information && r.Message.Contains("heartbeat", StringComparison.OrdinalIgnoreCase)
                && r.Category?.StartsWith("StackExchange.Redis", StringComparison.Ordinal) != true) // the Redis client's own heartbeat
            .Select(r => $"{r.Level} {r.Category}: {r.Message}").ToList();
        Assert.True(lines.Count == 0, string.Join("\n", lines));
    }

    [Fact]
    public async Task Every_agent_registers_with_the_gateways_key_its_bus_name_as_sender_and_where_it_runs()
    {
        var registrations = await Eventually.ValueAsync(
            () => Task.FromResult(_orchestrationApi.Requests.Where(r => r.Path.EndsWith("/api/agents", StringComparison.Ordinal)).ToList()),
            r => r.Select(Body).Select(b => b.GetProperty("id").GetString()).Distinct().Count() == 6, TimeSpan.FromSeconds(30), "the six agents register");

        Assert.All(registrations, r => Assert.Equal(GatewayKey, r.Header("X-Api-Key")));
        var engineer = registrations.Select(Body).First(b => b.GetProperty("id").GetString() == "engineer");
        Assert.Equal("Software Engineer", engineer.GetProperty("name").GetString());
        Assert.Equal(["code", "implementation"], engineer.GetProperty("capabilities").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal("agent.engineer", engineer.GetProperty("topic").GetString());
        Assert.Equal(_factory.Services.GetRequiredService<IMessageBus>() is RedisMessageBus bus ? bus.ServiceName : null, engineer.GetProperty("sender").GetString());
        Assert.Equal("ai-gateway", engineer.GetProperty("metadata").GetProperty("host").GetString());
        Assert.Equal("llm", engineer.GetProperty("metadata").GetProperty("kind").GetString());
        Assert.Equal(30, engineer.GetProperty("heartbeatTtlSeconds").GetInt32());

        static JsonElement Body(Fakes.RecordedRequest request) => JsonDocument.Parse(request.Body).RootElement.Clone();
    }
}
