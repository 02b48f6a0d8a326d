using System.Net.Http.Json;
using System.Text.Json;
using Communication.Bus;
using Communication.Bus.Contracts;
using StackExchange.Redis;
using TestSupport;

namespace Orchestration.Api.Tests.Integration;

/// <summary>What a <see cref="FakeAgent"/> does with one task. Build with <see cref="Succeed"/>, <see cref="Fail"/> or <see cref="Silent"/>.</summary>
public sealed record AgentAction
{
    /// <summary>False: the agent never answers (the orchestrator's attempt timeout has to act).</summary>
    public bool Replies { get; init; } = true;

    public bool Ok { get; init; } = true;

    /// <summary>The output of a success; null gives <c>{ agent, runId, step, attempt, kind }</c>.</summary>
    public object? Output { get; init; }

    public string? Error { get; init; }

    public bool Retryable { get; init; } = true;

    /// <summary>Answer this long after the task arrived (or after the release, with <see cref="Held"/>).</summary>
    public TimeSpan Delay { get; init; }

    /// <summary>Answer only when the test calls <see cref="FakeAgent.Release"/> (or <see cref="ReceivedTask.Release"/>).</summary>
    public bool Held { get; init; }

    public static AgentAction Succeed(object? output = null) => new() { Output = output };

    public static AgentAction Fail(string error = "the fake agent failed", bool retryable = true) => new() { Ok = false, Error = error, Retryable = retryable };

    public static AgentAction Silent { get; } = new() { Replies = false };

    public AgentAction After(TimeSpan delay) => this with { Delay = delay };

    public AgentAction WhenReleased() => this with { Held = true };
}

/// <summary>Identifies a step attempt (or a compensation) across agents.</summary>
public readonly record struct AttemptKey(string RunId, string StepId, int Attempt, AgentTaskKind Kind)
{
    public static AttemptKey Of(AgentTask task) => new(task.RunId, task.StepId, task.Attempt, task.Kind);

    public override string ToString() => $"{RunId}/{StepId}#{Attempt}{(Kind == AgentTaskKind.Compensation ? " (compensation)" : "")}";
}

/// <summary>One task delivery to a fake agent: what arrived, what the agent decided, and its reply once sent.</summary>
public sealed class ReceivedTask(AgentTask task, string messageId, AgentAction action)
{
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<PublishReceipt?> _replied = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public AgentTask Task { get; } = task;

    public AttemptKey Key { get; } = AttemptKey.Of(task);

    /// <summary>The TASK message id (the orchestrator derives it from run, step and attempt).</summary>
    public string MessageId { get; } = messageId;

    public DateTimeOffset ReceivedAt { get; } = DateTimeOffset.UtcNow;

    public AgentAction Action { get; } = action;

    /// <summary>Completes with the reply's receipt once it is on the bus (null for a silent action).</summary>
    public Task<PublishReceipt?> Replied => _replied.Task;

    internal Task Released => _released.Task;

    /// <summary>Lets a held reply go.</summary>
    public void Release() => _released.TrySetResult();

    internal void SetReplied(PublishReceipt? receipt) => _replied.TrySetResult(receipt);

    internal void SetFailed(Exception exception) => _replied.TrySetException(exception);

    internal void SetCancelled() => _replied.TrySetCanceled();
}

/// <summary>
/// An agent on the real bus: its own <see cref="RedisMessageBus"/> with the service's signing key, subscribed to
/// <c>agent.&lt;id&gt;</c> before it registers through <c>POST /api/agents</c>. It records every task delivered to
/// it and answers each one with a TASK_RESULT as <see cref="Behaviour"/> decides (replies are sent in the
/// background, so a held or delayed answer never blocks the consumer).
/// </summary>
public sealed class FakeAgent : IAsyncDisposable
{
    public static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(60);

    private readonly List<ReceivedTask> _received = [];
    private readonly List<Task> _replies = [];
    private readonly List<Exception> _errors = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConnectionMultiplexer _redis;
    private readonly RedisMessageBus _bus;
    private IBusSubscription? _subscription;

    private FakeAgent(string id, string[] capabilities, ConnectionMultiplexer redis, RedisMessageBus bus)
    {
        Id = id;
        Capabilities = capabilities;
        _redis = redis;
        _bus = bus;
    }

    public string Id { get; }

    public string Topic => $"agent.{Id}";

    public IReadOnlyList<string> Capabilities { get; }

    /// <summary>Decides each task's answer when it arrives; the default succeeds at once.</summary>
    public Func<AgentTask, AgentAction> Behaviour { get; set; } = _ => AgentAction.Succeed();

    /// <summary>Every delivery so far, in arrival order.</summary>
    public IReadOnlyList<ReceivedTask> Received
    {
        get
        {
            lock (_received)
            {
                return [.. _received];
            }
        }
    }

    /// <summary>Replies that could not be sent (a test should see none).</summary>
    public IReadOnlyList<Exception> Errors
    {
        get
        {
            lock (_errors)
            {
                return [.. _errors];
            }
        }
    }

    /// <summary>Subscribes to the agent's topic and, with <paramref name="api"/>, registers the agent (heartbeat TTL one hour).</summary>
    public static async Task<FakeAgent> StartAsync(string id, string redisConnectionString, HttpClient? api, string[]? capabilities = null,
        Func<AgentTask, AgentAction>? behaviour = null, CancellationToken cancellationToken = default, IEnumerable<SigningKeySettings>? keys = null)
    {
        var settings = new CommunicationBusSettings { ServiceName = id, ConsumerName = id };
        foreach (var key in keys ?? [new SigningKeySettings { Id = TestSecrets.SigningKeyId, Secret = TestSecrets.SigningSecret }])
        {
            settings.Signing.Keys.Add(key);
        }

        var redis = await ConnectionMultiplexer.ConnectAsync(redisConnectionString);
        var agent = new FakeAgent(id, capabilities ?? [], redis, new RedisMessageBus(redis, settings));
        if (behaviour is not null)
        {
            agent.Behaviour = behaviour;
        }

        try
        {
            // Subscribe first: the group starts at the end of the stream, so tasks sent before it exists would be missed.
            agent._subscription = await agent._bus.SubscribeAsync(agent.Topic, agent.HandleAsync,
                new SubscriptionOptions { Group = id, Consumer = id, Concurrency = 8 }, cancellationToken);
            if (api is not null)
            {
                await agent.RegisterAsync(api, cancellationToken);
            }

            return agent;
        }
        catch
        {
            await agent.DisposeAsync();
            throw;
        }
    }

    /// <summary><c>POST /api/agents</c> with the agent's id, capabilities and topic.</summary>
    public async Task RegisterAsync(HttpClient api, CancellationToken cancellationToken = default)
    {
        using var response = await api.PostAsJsonAsync("/api/agents",
            new { id = Id, name = $"Fake agent {Id}", capabilities = Capabilities, topic = Topic, heartbeatTtlSeconds = 3600 }, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"Registering agent '{Id}' failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
        }
    }

    /// <summary>How many times this agent received the task of one attempt.</summary>
    public int Deliveries(string runId, string stepId, int attempt = 1, AgentTaskKind kind = AgentTaskKind.Step) =>
        Received.Count(r => r.Key == new AttemptKey(runId, stepId, attempt, kind));

    /// <summary>Waits for a delivery matching <paramref name="match"/> (already received or still to come).</summary>
    public async Task<ReceivedTask> WaitForTaskAsync(Func<AgentTask, bool> match, TimeSpan? timeout = null, string? because = null)
    {
        ReceivedTask? found = null;
        await Eventually.TrueAsync(() => (found = Received.FirstOrDefault(r => match(r.Task))) is not null, timeout ?? DefaultWait,
            because ?? $"agent '{Id}' receives the task (received so far: {string.Join(", ", Received.Select(r => r.Key))})");
        return found!;
    }

    public Task<ReceivedTask> WaitForTaskAsync(string runId, string stepId, int attempt = 1, AgentTaskKind kind = AgentTaskKind.Step, TimeSpan? timeout = null) =>
        WaitForTaskAsync(t => AttemptKey.Of(t) == new AttemptKey(runId, stepId, attempt, kind), timeout,
            $"agent '{Id}' receives {new AttemptKey(runId, stepId, attempt, kind)}");

    /// <summary>Lets the held replies of an attempt go.</summary>
    public void Release(string runId, string stepId, int attempt = 1, AgentTaskKind kind = AgentTaskKind.Step)
    {
        foreach (var received in Received.Where(r => r.Key == new AttemptKey(runId, stepId, attempt, kind)))
        {
            received.Release();
        }
    }

    public void ReleaseAll()
    {
        foreach (var received in Received)
        {
            received.Release();
        }
    }

    /// <summary>Deliveries per attempt over several agents (a capability may send attempts of one step to different agents).</summary>
    public static Dictionary<AttemptKey, int> DeliveryCounts(IEnumerable<FakeAgent> agents) =>
        agents.SelectMany(a => a.Received).GroupBy(r => r.Key).ToDictionary(g => g.Key, g => g.Count());

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        Task[] replies;
        lock (_replies)
        {
            replies = [.. _replies];
        }

        await Task.WhenAll(replies);
        if (_subscription is not null)
        {
            await _subscription.DisposeAsync();
        }

        await _bus.DisposeAsync();
        await _redis.DisposeAsync();
        _stopping.Dispose();
    }

    private Task HandleAsync(BusMessage message, CancellationToken cancellationToken)
    {
        if (message.Type != MessageType.Task)
        {
            return Task.CompletedTask;
        }

        var task = message.GetPayload<AgentTask>(JsonSerializerOptions.Web)
            ?? throw new InvalidOperationException($"Task message {message.Id} has no AgentTask payload.");
        var received = new ReceivedTask(task, message.Id, Behaviour(task));
        lock (_received)
        {
            _received.Add(received);
        }

        lock (_replies)
        {
            _replies.Add(ReplyAsync(message, received));
        }

        return Task.CompletedTask;
    }

    private async Task ReplyAsync(BusMessage request, ReceivedTask received)
    {
        var action = received.Action;
        try
        {
            if (!action.Replies)
            {
                received.SetReplied(null);
                return;
            }

            if (action.Held)
            {
                await received.Released.WaitAsync(_stopping.Token);
            }

            if (action.Delay > TimeSpan.Zero)
            {
                await Task.Delay(action.Delay, _stopping.Token);
            }

            var task = received.Task;
            var result = new AgentTaskResult
            {
                RunId = task.RunId,
                StepId = task.StepId,
                Attempt = task.Attempt,
                Kind = task.Kind,
                Ok = action.Ok,
                Output = action.Ok ? JsonSerializer.SerializeToElement(action.Output ?? new { agent = Id, runId = task.RunId, step = task.StepId, attempt = task.Attempt, kind = task.Kind }, JsonSerializerOptions.Web) : null,
                Error = action.Ok ? null : action.Error,
                Retryable = action.Retryable,
                AgentId = Id,
            };
            received.SetReplied(await _bus.ReplyAsync(request, result, cancellationToken: _stopping.Token));
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            received.SetCancelled();
        }
        catch (Exception ex)
        {
            lock (_errors)
            {
                _errors.Add(ex);
            }

            received.SetFailed(ex);
        }
    }
}
