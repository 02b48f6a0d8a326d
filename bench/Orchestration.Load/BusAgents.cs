using System.Text.Json;
using Communication.Bus;
using Communication.Bus.Contracts;
using StackExchange.Redis;

namespace Bench;

/// <summary>
/// The bench's own bus clients on the services' Redis, signed with the services' key:
/// a no-op agent (answers every TASK with an ok TASK_RESULT at once), an echo responder and a requester for the
/// raw request/reply baseline (<see cref="IMessageBus.RequestAsync"/>, the same QoS and about the same payloads
/// as the orchestrator's tasks and the agents' results).
/// </summary>
internal sealed class BusAgents : IAsyncDisposable
{
    public const string NoOpAgentId = "bench-noop";
    public const string EchoTopic = "bench.echo";

    private static readonly JsonElement NoOpOutput = JsonSerializer.SerializeToElement(new { ok = true });
    private readonly ConnectionMultiplexer _redis;
    private readonly RedisMessageBus _agentBus;
    private readonly RedisMessageBus _echoBus;
    private readonly RedisMessageBus _clientBus;
    private readonly List<IBusSubscription> _subscriptions = [];
    private readonly byte[] _requestPayload;
    private long _noOpReplies;

    private BusAgents(ConnectionMultiplexer redis, RedisMessageBus agentBus, RedisMessageBus echoBus, RedisMessageBus clientBus)
    {
        _redis = redis;
        _agentBus = agentBus;
        _echoBus = echoBus;
        _clientBus = clientBus;
        // A task like the orchestrator's (ids, step, attempt, a small input).
        _requestPayload = JsonSerializer.SerializeToUtf8Bytes(new AgentTask
        {
            RunId = Guid.NewGuid().ToString("N"),
            WorkflowId = "bench",
            StepId = "step-1",
            Attempt = 1,
            AgentId = "bench-echo",
            Input = JsonSerializer.SerializeToElement(new { request = "A to-do list app for a small team." }),
            DeadlineUnixMs = TimeProvider.System.GetUtcNow().AddMinutes(10).ToUnixTimeMilliseconds(),
        }, JsonSerializerOptions.Web);
    }

    /// <summary>TASK_RESULTs the no-op agent has sent.</summary>
    public long NoOpReplies => Interlocked.Read(ref _noOpReplies);

    public static async Task<BusAgents> StartAsync(string redisConnectionString, string signingKeyId, string signingSecret)
    {
        var redis = await ConnectionMultiplexer.ConnectAsync(redisConnectionString);
        RedisMessageBus Bus(string name)
        {
            var settings = new CommunicationBusSettings { ServiceName = name, ConsumerName = name };
            settings.Signing.Keys.Add(new SigningKeySettings { Id = signingKeyId, Secret = signingSecret });
            return new RedisMessageBus(redis, settings);
        }

        var agents = new BusAgents(redis, Bus(NoOpAgentId), Bus("bench-echo"), Bus("bench-client"));
        // Subscribe before anything is sent: a new group starts at the end of the stream.
        agents._subscriptions.Add(await agents._agentBus.SubscribeAsync($"agent.{NoOpAgentId}", agents.NoOpAsync,
            new SubscriptionOptions { Group = NoOpAgentId, Consumer = NoOpAgentId, Concurrency = 256 }));
        agents._subscriptions.Add(await agents._echoBus.SubscribeAsync(EchoTopic, agents.EchoAsync,
            new SubscriptionOptions { Group = "bench-echo", Consumer = "bench-echo", Concurrency = 256 }));
        return agents;
    }

    /// <summary>One raw request/reply round trip through the bus (signed TASK → responder → signed TASK_RESULT).</summary>
    public Task<BusMessage> RequestAsync() => _clientBus.RequestAsync(new OutgoingMessage(MessageType.Task, EchoTopic, _requestPayload)
    {
        To = ["bench-echo"],
        Qos = QualityOfService.ExactlyOnce,
    }, TimeSpan.FromSeconds(30));

    /// <summary>How many transitions a run committed (its stored version: one per commit).</summary>
    public async Task<long> CommitsOfAsync(string runId) => (long)await _redis.GetDatabase().HashGetAsync($"orch:run:{{{runId}}}", "v");

    public async ValueTask DisposeAsync()
    {
        foreach (var subscription in _subscriptions)
        {
            await subscription.DisposeAsync();
        }

        await _agentBus.DisposeAsync();
        await _echoBus.DisposeAsync();
        await _clientBus.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private async Task NoOpAsync(BusMessage message, CancellationToken cancellationToken)
    {
        if (message.Type != MessageType.Task || message.GetPayload<AgentTask>(JsonSerializerOptions.Web) is not { } task)
        {
            return;
        }

        await _agentBus.ReplyAsync(message, Result(task, NoOpAgentId), cancellationToken: cancellationToken);
        Interlocked.Increment(ref _noOpReplies);
    }

    private async Task EchoAsync(BusMessage message, CancellationToken cancellationToken)
    {
        if (message.Type != MessageType.Task || message.GetPayload<AgentTask>(JsonSerializerOptions.Web) is not { } task)
        {
            return;
        }

        await _echoBus.ReplyAsync(message, Result(task, "bench-echo"), cancellationToken: cancellationToken);
    }

    private static AgentTaskResult Result(AgentTask task, string agentId) => new()
    {
        RunId = task.RunId,
        StepId = task.StepId,
        Attempt = task.Attempt,
        Kind = task.Kind,
        Ok = true,
        Output = NoOpOutput,
        AgentId = agentId,
    };
}
