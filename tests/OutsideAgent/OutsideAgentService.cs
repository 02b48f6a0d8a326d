using System.Text.Json;
using Communication.Bus;
using Communication.Bus.Contracts;
using Microsoft.Extensions.Options;
using Orchestration.Client;

namespace OutsideAgent;

/// <summary>
/// Subscribes to <c>agent.&lt;id&gt;</c> (group: the bus name, shared by every instance; consumer: this process), then
/// registers with orchestration-api under its bus name as <c>sender</c> and heartbeats, registering again whenever the
/// service has forgotten it.
/// </summary>
public sealed partial class OutsideAgentService(
    IOptions<OutsideAgentOptions> options,
    IOptions<CommunicationBusSettings> busSettings,
    RedisMessageBus bus,
    OrchestrationClient orchestration,
    Ledger ledger,
    TimeProvider time,
    ILogger<OutsideAgentService> logger) : BackgroundService
{
    private int _taken;

    private OutsideAgentOptions Options => options.Value;

    private string Topic => $"agent.{Options.Id}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Subscribe before registering: no task is sent to the topic before its group exists.
        var subscription = await bus.SubscribeAsync(Topic, HandleAsync, busSettings.Value.Subscription with { ReadFromBeginning = true }, stoppingToken);
        await using var _ = subscription;
        LogSubscribed(logger, Topic, subscription.Group, subscription.Consumer);

        var registered = false;
        using var timer = new PeriodicTimer(Options.HeartbeatInterval, time);
        try
        {
            do
            {
                try
                {
                    if (!registered || !await orchestration.HeartbeatAsync(Options.Id, cancellationToken: stoppingToken))
                    {
                        await orchestration.RegisterAgentAsync(new AgentRegistration
                        {
                            Id = Options.Id,
                            Name = $"Outside agent {Options.Id}",
                            Capabilities = Options.Capabilities,
                            Topic = Topic,
                            Sender = bus.ServiceName,
                            HeartbeatTtlSeconds = Options.HeartbeatTtlSeconds,
                            Metadata = new Dictionary<string, string> { ["kind"] = "outside" },
                        }, stoppingToken);
                        if (!registered)
                        {
                            registered = true;
                            ledger.Write("ready");
                            LogRegistered(logger, Options.Id, bus.ServiceName);
                        }
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !stoppingToken.IsCancellationRequested)
                {
                    registered = false;
                    LogRegistrationFailed(logger, Options.Id, ex.Message);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task HandleAsync(BusMessage message, CancellationToken cancellationToken)
    {
        if (message.Type != MessageType.Task)
        {
            return;
        }

        var task = message.GetRequiredPayload<AgentTask>();
        ledger.Write("received", task);
        if (task.DeadlineUnixMs > 0 && time.GetUtcNow().ToUnixTimeMilliseconds() > task.DeadlineUnixMs)
        {
            // The orchestrator has given up on this attempt (e.g. a task a dead instance held, reclaimed after its
            // timeout): no work, no answer; the entry is acknowledged.
            ledger.Write("expired", task);
            return;
        }

        if (Options.AnswerLimit is { } limit && Interlocked.Increment(ref _taken) > limit)
        {
            // Hold the task (its entry stays pending under this process's consumer) until the process dies.
            ledger.Write("held", task);
            await Task.Delay(Timeout.InfiniteTimeSpan, time, cancellationToken);
        }

        await Task.Delay(Options.WorkTime, time, cancellationToken);
        await bus.ReplyAsync(message, new AgentTaskResult
        {
            RunId = task.RunId,
            StepId = task.StepId,
            Attempt = task.Attempt,
            Kind = task.Kind,
            Ok = true,
            Output = JsonSerializer.SerializeToElement(new { agent = Options.Id, pid = Environment.ProcessId, step = task.StepId, attempt = task.Attempt }),
            AgentId = Options.Id,
        }, cancellationToken: cancellationToken);
        ledger.Write("answered", task);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Reading {Topic} as group {Group}, consumer {Consumer}.")]
    private static partial void LogSubscribed(ILogger logger, string topic, string group, string consumer);

    [LoggerMessage(Level = LogLevel.Information, Message = "Registered agent {AgentId} with orchestration-api, sender {Sender}.")]
    private static partial void LogRegistered(ILogger logger, string agentId, string sender);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not register or heartbeat agent {AgentId} ({Reason}); retrying.")]
    private static partial void LogRegistrationFailed(ILogger logger, string agentId, string reason);
}
