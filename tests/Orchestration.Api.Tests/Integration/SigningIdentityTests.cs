using System.Text.Json;
using Communication.Bus;
using Communication.Bus.Contracts;
using StackExchange.Redis;
using TestSupport;
using static Orchestration.Api.Tests.Integration.OrchestrationClient;

namespace Orchestration.Api.Tests.Integration;

/// <summary>
/// Issue 9, per-agent signing identity: with keys bound to senders (Bus:Signing:Keys:N:Senders), an agent that holds
/// a valid key of its own cannot answer for another agent, even with the attempt's correlation id.
/// </summary>
public sealed class SigningIdentityTests : IAsyncLifetime
{
    private const string WorkerSecret = "worker-signing-secret-0123456789abcdefghijkl";
    private const string IntruderSecret = "intruder-signing-secret-0123456789abcdefghij";

    private RedisServer _redis = null!;
    private ServiceFactory<Program> _factory = null!;
    private HttpClient _api = null!;
    private readonly List<FakeAgent> _agents = [];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        var settings = IntegrationTest.FastTimings();
        // orchestration-api signs with its own key and holds the agents' keys only to verify them.
        settings["Bus:Signing:Keys:0:Senders"] = "Orchestration.Api";
        settings["Bus:Signing:Keys:1:Id"] = "worker";
        settings["Bus:Signing:Keys:1:Secret"] = WorkerSecret;
        settings["Bus:Signing:Keys:1:Senders"] = "worker";
        settings["Bus:Signing:Keys:1:State"] = "verify-only";
        settings["Bus:Signing:Keys:2:Id"] = "intruder";
        settings["Bus:Signing:Keys:2:Secret"] = IntruderSecret;
        settings["Bus:Signing:Keys:2:Senders"] = "intruder";
        settings["Bus:Signing:Keys:2:State"] = "verify-only";
        _factory = new ServiceFactory<Program>(_redis.ConnectionString, settings);
        _api = _factory.CreateAuthorizedClient();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var agent in _agents)
        {
            await agent.DisposeAsync();
        }

        _api.Dispose();
        await _factory.DisposeAsync();
        await _redis.DisposeAsync();
    }

    /// <summary>An agent's ring: its own key, and the orchestrator's key (verify-only) to verify the TASKs.</summary>
    private static SigningKeySettings[] Ring(string id, string secret) =>
    [
        new() { Id = id, Secret = secret, Senders = id },
        new() { Id = TestSecrets.SigningKeyId, Secret = TestSecrets.SigningSecret, Senders = "Orchestration.Api", State = "verify-only" },
    ];

    [Fact]
    public async Task An_agent_with_its_own_valid_key_cannot_complete_another_agents_step_even_with_its_correlation_id()
    {
        var worker = await FakeAgent.StartAsync("worker", _redis.ConnectionString, _api, behaviour: _ => AgentAction.Succeed(new { from = "worker" }).WhenReleased(),
            cancellationToken: Ct, keys: Ring("worker", WorkerSecret));
        _agents.Add(worker);
        await _api.PutWorkflowAsync(Wf.Of("guarded", Wf.Step("s1", agent: "worker", maxAttempts: 1)), Ct);
        var runId = await _api.StartRunAsync("guarded", cancellationToken: Ct);
        var task = await worker.WaitForTaskAsync(runId, "s1");

        // The intruder signs with its own (valid) key but claims to be the worker, with the attempt's correlation id.
        await using var redis = await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString);
        var settings = new CommunicationBusSettings { ServiceName = "worker", ConsumerName = "intruder" };
        settings.Signing.Keys.Add(new SigningKeySettings { Id = "intruder", Secret = IntruderSecret });
        await using var intruder = new RedisMessageBus(redis, settings);
        var forged = await intruder.PublishAsync(new OutgoingMessage(MessageType.TaskResult, "orchestration.results", JsonSerializer.SerializeToUtf8Bytes(new AgentTaskResult
        {
            RunId = runId, StepId = "s1", Attempt = 1, Ok = true, AgentId = "worker",
            Output = JsonSerializer.SerializeToElement(new { from = "intruder" }),
        })) { CorrelationId = task.MessageId }, Ct);

        var letter = (await Eventually.ValueAsync(() => intruder.DeadLetters.ListAsync("orchestration.results"), l => l.Count == 1, TimeSpan.FromSeconds(30)))[0];
        var afterForgery = await _api.GetRunAsync(runId, Ct);
        task.Release();
        var run = await _api.WaitForRunAsync(runId, cancellationToken: Ct);

        Assert.Equal(RejectionReasons.SenderNotAllowed, letter.Reason);
        Assert.Equal(forged.EntryId, letter.OriginalEntryId);
        Assert.Equal("RUNNING", Step(afterForgery, "s1").GetProperty("status").GetString());
        Assert.Equal("SUCCEEDED", Status(run));
        Assert.Equal("worker", run.GetProperty("output").GetProperty("from").GetString());
    }
}
