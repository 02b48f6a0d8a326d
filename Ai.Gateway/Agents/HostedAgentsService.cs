using Ai.Gateway.Generation;
using Communication.Bus;
using Communication.Bus.Contracts;
using Microsoft.Extensions.Options;

namespace Ai.Gateway.Agents;

/// <summary>
/// Runs the hosted agents on every gateway replica: consumes each agent's bus topic (replicas share
/// one consumer group, so a task goes to one of them), and keeps the agents registered with
/// orchestration-api through heartbeats (registering again whenever it forgets them).
/// </summary>
public sealed partial class HostedAgentsService(
    IOptions<HostedAgentsOptions> options,
    IMessageBus bus,
    GenerationService generation,
    IHttpClientFactory httpClients,
    TimeProvider time,
    ILogger<HostedAgentsService> logger) : BackgroundService
{
    private HostedAgentsOptions Options => options.Value;

    public IReadOnlyList<HostedAgent> Agents { get; } = options.Value.Agents
        .OrderBy(a => a.Key, StringComparer.Ordinal)
        .Select(a => new HostedAgent(a.Key, a.Value, a.Value.Language ?? options.Value.Language, generation, time))
        .ToList();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Options.Enabled || Agents.Count == 0)
        {
            return;
        }

        var subscriptions = new List<IBusSubscription>();
        try
        {
            foreach (var agent in Agents)
            {
                subscriptions.Add(await SubscribeAsync(agent, stoppingToken));
            }

            LogStarted(logger, Agents.Count, string.Join(", ", Agents.Select(a => a.Id)));
            await KeepRegisteredAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            // Graceful stop: the bus finishes in-flight tasks and acknowledges them.
            foreach (var subscription in subscriptions)
            {
                await subscription.DisposeAsync();
            }
        }
    }

    private async Task<IBusSubscription> SubscribeAsync(HostedAgent agent, CancellationToken stoppingToken)
    {
        while (true)
        {
            try
            {
                return await bus.SubscribeAsync(agent.Topic, (message, ct) => HandleAsync(agent, message, ct),
                    new SubscriptionOptions { Concurrency = Options.Concurrency, ClaimIdleTime = TimeSpan.FromMinutes(5), ReadFromBeginning = true }, stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogSubscribeFailed(logger, ex, agent.Topic);
                await Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken);
            }
        }
    }

    private async Task HandleAsync(HostedAgent agent, BusMessage message, CancellationToken cancellationToken)
    {
        if (message.Type != MessageType.Task)
        {
            return;
        }

        // A payload that can never be a task is dead-lettered at once (invalid-payload), never retried.
        var task = message.GetRequiredPayload<AgentTask>();
        if (string.IsNullOrEmpty(task.RunId))
        {
            LogUnusableTask(logger, message.Id, agent.Id);
            throw new InvalidPayloadException($"TASK {message.Id} has no runId.");
        }

        // Every line logged while the agent works (policy, providers, tools) carries the run, step and agent.
        using var scope = logger.BeginScope(new Dictionary<string, object?>
        {
            ["RunId"] = task.RunId,
            ["StepId"] = task.StepId,
            ["AgentId"] = agent.Id,
        });
        LogTaskStarted(logger, agent.Id, task.Kind, task.StepId, task.RunId, task.Attempt);
        var result = await agent.HandleAsync(task, cancellationToken);
        if (result.Ok)
        {
            LogTaskDone(logger, agent.Id, task.StepId, task.RunId);
        }
        else
        {
            LogTaskFailed(logger, agent.Id, task.StepId, task.RunId, result.Error);
        }

        if (!string.IsNullOrEmpty(message.ReplyTo))
        {
            await HostedAgent.ReplyAsync(bus, message, result, cancellationToken);
        }
    }

    private async Task KeepRegisteredAsync(CancellationToken stoppingToken)
    {
        if (string.IsNullOrEmpty(Options.ApiKey))
        {
            // Keep taking tasks until shutdown; only the registration is off.
            LogNotRegistering(logger);
            await Task.Delay(Timeout.InfiniteTimeSpan, time, stoppingToken);
            return;
        }

        // Heartbeats and registrations are timer work: no trace for each (ServiceDefaults' sampler).
        using var background = BackgroundWork.Begin();
        var client = new OrchestrationClient(httpClients.CreateClient(OrchestrationClient.HttpClientName));
        var registered = new HashSet<string>(StringComparer.Ordinal);
        using var timer = new PeriodicTimer(Options.HeartbeatInterval, time);
        do
        {
            foreach (var agent in Agents)
            {
                try
                {
                    if (!registered.Contains(agent.Id) || !await client.HeartbeatAsync(agent.Id, stoppingToken))
                    {
                        await client.RegisterAsync(new OrchestrationClient.Registration(agent.Id, agent.Definition.Name, agent.Definition.Capabilities,
                            agent.Topic, new Dictionary<string, string> { ["host"] = "ai-gateway", ["kind"] = "llm" }, Options.HeartbeatTtlSeconds,
                            (bus as RedisMessageBus)?.ServiceName), stoppingToken);
                        if (registered.Add(agent.Id))
                        {
                            LogRegistered(logger, agent.Id);
                        }
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !stoppingToken.IsCancellationRequested)
                {
                    registered.Remove(agent.Id);
                    LogRegistrationFailed(logger, agent.Id, ex.Message);
                }
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Agent {AgentId} took a {Kind} task: step {StepId} of run {RunId}, attempt {Attempt}.")]
    private static partial void LogTaskStarted(ILogger logger, string agentId, AgentTaskKind kind, string stepId, string runId, int attempt);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Agent {AgentId} answered step {StepId} of run {RunId}.")]
    private static partial void LogTaskDone(ILogger logger, string agentId, string stepId, string runId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Agent {AgentId} could not do step {StepId} of run {RunId}: {Error}")]
    private static partial void LogTaskFailed(ILogger logger, string agentId, string stepId, string runId, string? error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Hosting {Count} agents: {Agents}.")]
    private static partial void LogStarted(ILogger logger, int count, string agents);

    [LoggerMessage(Level = LogLevel.Information, Message = "Registered hosted agent {AgentId} with orchestration-api.")]
    private static partial void LogRegistered(ILogger logger, string agentId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not register or heartbeat hosted agent {AgentId} ({Reason}); retrying.")]
    private static partial void LogRegistrationFailed(ILogger logger, string agentId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "HostedAgents:ApiKey is not set: the hosted agents take tasks but do not register with orchestration-api.")]
    private static partial void LogNotRegistering(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not subscribe to {Topic} yet; retrying.")]
    private static partial void LogSubscribeFailed(ILogger logger, Exception exception, string topic);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dead-lettering task {MessageId} for agent {AgentId}: its payload is not an agent task.")]
    private static partial void LogUnusableTask(ILogger logger, string messageId, string agentId);
}
