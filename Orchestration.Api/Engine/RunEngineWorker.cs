using Communication.Bus;
using Communication.Bus.Contracts;
using Microsoft.Extensions.Options;
using Orchestration.Api.Model;

namespace Orchestration.Api.Engine;

/// <summary>
/// What every replica runs: a consumer of the shared results topic (any replica may apply any
/// result; the message is acknowledged only after the run is stored) and a loop that handles the
/// runs whose timers are due.
/// </summary>
public sealed partial class RunEngineWorker(
    IMessageBus bus,
    RunEngine engine,
    TimeProvider time,
    IOptions<OrchestrationOptions> options,
    ILogger<RunEngineWorker> logger) : BackgroundService
{
    private const string ConsumerGroup = "orchestration-api";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        IBusSubscription? results = null;
        while (results is null && !stoppingToken.IsCancellationRequested)
        {
            try
            {
                results = await bus.SubscribeAsync(options.Value.ResultsTopic, HandleResultAsync,
                    new SubscriptionOptions { Group = ConsumerGroup, Concurrency = 16, ClaimIdleTime = TimeSpan.FromSeconds(15) }, stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Redis may not be up yet; readiness reports it. Try again shortly.
                LogSubscribeFailed(logger, ex);
                await Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken);
            }
        }

        await using (results)
        {
            using var timer = new PeriodicTimer(options.Value.TimerPollInterval, time);
            while (await WaitAsync(timer, stoppingToken))
            {
                try
                {
                    // Keep going while there is a backlog of due runs.
                    while (await engine.ProcessDueAsync(64, stoppingToken) == 64)
                    {
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogTimersFailed(logger, ex);
                }
            }
        }
    }

    private async Task HandleResultAsync(BusMessage message, CancellationToken cancellationToken)
    {
        if (message.Type != MessageType.TaskResult)
        {
            return;
        }

        // A payload that can never be a result is dead-lettered at once (invalid-payload), not redelivered: it must
        // not open the results breaker that every run depends on.
        var result = message.GetRequiredPayload<AgentTaskResult>(RunJson.Options);
        if (string.IsNullOrEmpty(result.RunId) || string.IsNullOrEmpty(result.StepId))
        {
            LogUnusableResult(logger, message.Id);
            throw new InvalidPayloadException($"TASK_RESULT {message.Id} has no runId or stepId.");
        }

        using var scope = logger.BeginScope(new RunScope(result.RunId, result.StepId, result.AgentId));
        await engine.ApplyAsync(result.RunId, new StepResultReceived(result, message.CorrelationId, message.From), cancellationToken);
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not subscribe to the results topic yet; retrying.")]
    private static partial void LogSubscribeFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Handling due timers failed; the next tick retries.")]
    private static partial void LogTimersFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dead-lettering TASK_RESULT {MessageId}: its payload is not a task result.")]
    private static partial void LogUnusableResult(ILogger logger, string messageId);
}
