using System.Diagnostics;
using Communication.Bus;
using Communication.Bus.Contracts;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestration.Client;

namespace Agents.Hosting;

/// <summary>
/// Keeps one agent on the bus for the life of the host: subscribes to its topic (group: the bus name, shared by every
/// replica; consumer: this process), answers each TASK with a signed TASK_RESULT from <see cref="BusAgent"/>, and keeps
/// the agent registered with orchestration-api (heartbeats; registers again whenever the service has forgotten it).
/// Its TASK_RESULTs come from the bus name, so that is the registration's <c>sender</c>.
/// </summary>
public sealed partial class BusAgentService : BackgroundService
{
    private readonly BusAgent _agent;
    private readonly BusAgentOptions _options;
    private readonly IMessageBus _bus;
    private readonly SubscriptionOptions _subscription;
    private readonly Func<OrchestrationClient> _orchestration;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>Creates the service; <see cref="BusAgentExtensions.AddBusAgent"/> does this for an application.</summary>
    /// <param name="agent">The agent's task runner.</param>
    /// <param name="options">The agent's bus options.</param>
    /// <param name="bus">The bus it reads and answers on.</param>
    /// <param name="subscription">The subscription defaults (<c>Bus:Subscription</c>); concurrency and claim time come from <paramref name="options"/>.</param>
    /// <param name="orchestration">The registry client, resolved when the first registration is due.</param>
    /// <param name="time">The clock of the heartbeat timer.</param>
    /// <param name="logger">The logger.</param>
    public BusAgentService(BusAgent agent, BusAgentOptions options, IMessageBus bus, SubscriptionOptions subscription,
        Func<OrchestrationClient> orchestration, TimeProvider time, ILogger<BusAgentService> logger)
    {
        _agent = agent ?? throw new ArgumentNullException(nameof(agent));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _bus = bus ?? throw new ArgumentNullException(nameof(bus));
        _subscription = (subscription ?? new SubscriptionOptions()) with
        {
            // Tasks sent before this agent's first start are not lost.
            ReadFromBeginning = true,
            Concurrency = options.Concurrency,
            ClaimIdleTime = options.ClaimIdleTime ?? subscription?.ClaimIdleTime ?? new SubscriptionOptions().ClaimIdleTime,
        };
        _orchestration = orchestration ?? throw new ArgumentNullException(nameof(orchestration));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    /// <summary>The agent's task runner.</summary>
    public BusAgent Agent => _agent;

    /// <summary>Whether orchestration-api has the agent's registration (set after the first successful one).</summary>
    public bool IsRegistered { get; private set; }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        IBusSubscription? subscription = null;
        try
        {
            // Subscribe before registering: no task is sent to the topic before its group exists.
            subscription = await SubscribeAsync(stoppingToken).ConfigureAwait(false);
            LogSubscribed(_logger, _agent.Id, subscription.Topic, subscription.Group, subscription.Consumer);
            if (_options.Register)
            {
                await KeepRegisteredAsync(stoppingToken).ConfigureAwait(false);
            }
            else
            {
                LogNotRegistering(_logger, _agent.Id);
                await Task.Delay(Timeout.InfiniteTimeSpan, _time, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            // Graceful stop: the bus finishes in-flight tasks and acknowledges them.
            if (subscription is not null)
            {
                await subscription.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task<IBusSubscription> SubscribeAsync(CancellationToken stoppingToken)
    {
        var topic = _options.EffectiveTopic;
        while (true)
        {
            try
            {
                return await _bus.SubscribeAsync(topic, HandleAsync, _subscription, stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogSubscribeFailed(_logger, ex, topic);
                await Task.Delay(TimeSpan.FromSeconds(1), _time, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    private async Task HandleAsync(BusMessage message, CancellationToken cancellationToken)
    {
        if (message.Type != MessageType.Task)
        {
            return;
        }

        // A payload that can never be a task is dead-lettered at once (invalid-payload), never retried.
        var task = message.GetRequiredPayload<AgentTask>();
        if (string.IsNullOrEmpty(task.RunId))
        {
            LogUnusableTask(_logger, message.Id, _agent.Id);
            throw new InvalidPayloadException($"TASK {message.Id} has no runId.");
        }

        // Every line logged while the agent works (its chat client, tools) carries the run, step and agent.
        using var scope = _logger.BeginScope(new Dictionary<string, object?>
        {
            ["RunId"] = task.RunId,
            ["StepId"] = task.StepId,
            ["AgentId"] = _agent.Id,
        });
        LogTaskStarted(_logger, _agent.Id, task.Kind, task.StepId, task.RunId, task.Attempt);
        var result = await _agent.HandleAsync(task, cancellationToken).ConfigureAwait(false);
        if (result.Ok)
        {
            LogTaskDone(_logger, _agent.Id, task.StepId, task.RunId);
        }
        else
        {
            LogTaskFailed(_logger, _agent.Id, task.StepId, task.RunId, result.Error);
        }

        if (!string.IsNullOrEmpty(message.ReplyTo))
        {
            await _bus.ReplyAsync(message, result, MessageType.TaskResult, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task KeepRegisteredAsync(CancellationToken stoppingToken)
    {
        var client = _orchestration();
        var registration = new AgentRegistration
        {
            Id = _agent.Id,
            Name = !string.IsNullOrWhiteSpace(_options.Name) ? _options.Name : _agent.Agent.Name ?? _agent.Id,
            Capabilities = _options.Capabilities,
            Topic = _options.EffectiveTopic,
            Sender = (_bus as RedisMessageBus)?.ServiceName,
            Metadata = _options.Metadata,
            HeartbeatTtlSeconds = _options.HeartbeatTtlSeconds,
        };
        using var timer = new PeriodicTimer(_options.HeartbeatInterval, _time);
        do
        {
            // Timer work: no trace per heartbeat, here or in orchestration-api.
            using var _ = StartUnsampledTrace();
            try
            {
                if (!IsRegistered || !await client.HeartbeatAsync(_agent.Id, cancellationToken: stoppingToken).ConfigureAwait(false))
                {
                    await client.RegisterAgentAsync(registration, stoppingToken).ConfigureAwait(false);
                    if (!IsRegistered)
                    {
                        IsRegistered = true;
                        LogRegistered(_logger, _agent.Id, registration.Sender ?? _agent.Id);
                    }
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException && !stoppingToken.IsCancellationRequested)
            {
                IsRegistered = false;
                LogRegistrationFailed(_logger, _agent.Id, ex.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    /// <summary>
    /// A trace context marked not sampled, current until disposed: the registry calls made in it carry an unsampled
    /// <c>traceparent</c>, so parent-based samplers (OpenTelemetry's default) record them neither here nor in
    /// orchestration-api. A call with no trace context at all would start a new recorded trace there, one per heartbeat.
    /// </summary>
    private static Activity StartUnsampledTrace()
    {
        var activity = new Activity("agent registration");
        activity.SetIdFormat(ActivityIdFormat.W3C);
        activity.SetParentId(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.None);
        return activity.Start();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {AgentId} reads {Topic} as group {Group}, consumer {Consumer}.")]
    private static partial void LogSubscribed(ILogger logger, string agentId, string topic, string group, string consumer);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Agent {AgentId} took a {Kind} task: step {StepId} of run {RunId}, attempt {Attempt}.")]
    private static partial void LogTaskStarted(ILogger logger, string agentId, AgentTaskKind kind, string stepId, string runId, int attempt);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Agent {AgentId} answered step {StepId} of run {RunId}.")]
    private static partial void LogTaskDone(ILogger logger, string agentId, string stepId, string runId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Agent {AgentId} could not do step {StepId} of run {RunId}: {Error}")]
    private static partial void LogTaskFailed(ILogger logger, string agentId, string stepId, string runId, string? error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Registered agent {AgentId} with orchestration-api, sender {Sender}.")]
    private static partial void LogRegistered(ILogger logger, string agentId, string sender);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not register or heartbeat agent {AgentId} ({Reason}); retrying.")]
    private static partial void LogRegistrationFailed(ILogger logger, string agentId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Agent {AgentId} takes tasks but does not register with orchestration-api (Register is off).")]
    private static partial void LogNotRegistering(ILogger logger, string agentId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not subscribe to {Topic} yet; retrying.")]
    private static partial void LogSubscribeFailed(ILogger logger, Exception exception, string topic);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dead-lettering task {MessageId} for agent {AgentId}: its payload is not an agent task.")]
    private static partial void LogUnusableTask(ILogger logger, string messageId, string agentId);
}
