using Microsoft.Extensions.Logging;

namespace Communication.Bus;

/// <summary>Source-generated log messages of the bus.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Subscribed to '{Topic}' as consumer '{Consumer}' of group '{Group}'.")]
    public static partial void Subscribed(ILogger logger, string topic, string group, string consumer);

    [LoggerMessage(2, LogLevel.Information, "Subscription to '{Topic}' (group '{Group}') stopped; {InFlight} handler(s) were still running at the deadline.")]
    public static partial void Unsubscribed(ILogger logger, string topic, string group, int inFlight);

    [LoggerMessage(3, LogLevel.Warning, "Rejected entry {EntryId} on '{Topic}' (group '{Group}'): {Reason}: {Detail}")]
    public static partial void Rejected(ILogger logger, string topic, string group, string entryId, string reason, string detail);

    [LoggerMessage(4, LogLevel.Warning, "Handler failed for message {MessageId} on '{Topic}' (group '{Group}', delivery {Delivery}); it stays pending for redelivery.")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, string topic, string group, string messageId, int delivery);

    [LoggerMessage(5, LogLevel.Error, "Message {MessageId} on '{Topic}' (group '{Group}') dead-lettered after {Delivery} deliveries.")]
    public static partial void MaxDeliveriesReached(ILogger logger, Exception? exception, string topic, string group, string messageId, int delivery);

    [LoggerMessage(6, LogLevel.Warning, "Retrying the handler for message {MessageId} on '{Topic}' (attempt {Attempt}).")]
    public static partial void HandlerRetry(ILogger logger, Exception? exception, string topic, string messageId, int attempt);

    [LoggerMessage(7, LogLevel.Error, "Consumer loop of '{Topic}' (group '{Group}') hit an error; retrying in {Delay}.")]
    public static partial void LoopError(ILogger logger, Exception exception, string topic, string group, TimeSpan delay);

    [LoggerMessage(8, LogLevel.Warning, "Circuit breaker of '{Topic}' (group '{Group}') opened for {Duration}; reading paused.")]
    public static partial void CircuitOpened(ILogger logger, string topic, string group, TimeSpan duration);

    [LoggerMessage(9, LogLevel.Information, "Circuit breaker of '{Topic}' (group '{Group}') closed; reading resumed.")]
    public static partial void CircuitClosed(ILogger logger, string topic, string group);

    [LoggerMessage(10, LogLevel.Error, "Processing entry {EntryId} on '{Topic}' (group '{Group}') failed outside the handler; it stays pending.")]
    public static partial void ProcessingFailed(ILogger logger, Exception exception, string topic, string group, string entryId);

    [LoggerMessage(11, LogLevel.Debug, "Reply with correlation id '{CorrelationId}' on '{Topic}' matched no pending request (late or foreign).")]
    public static partial void UnmatchedReply(ILogger logger, string topic, string correlationId);

    [LoggerMessage(12, LogLevel.Warning, "Retrying publish to '{Topic}' after a Redis error (attempt {Attempt}).")]
    public static partial void PublishRetry(ILogger logger, Exception? exception, string topic, int attempt);

    [LoggerMessage(13, LogLevel.Debug, "Message {MessageId} on '{Topic}' (group '{Group}') was already handled (exactly-once); acknowledged without handling.")]
    public static partial void AlreadyHandled(ILogger logger, string topic, string group, string messageId);

    [LoggerMessage(14, LogLevel.Information, "Replayed dead letter {DeadLetterId} of '{Topic}' for group '{Group}' as entry {EntryId}.")]
    public static partial void Replayed(ILogger logger, string topic, string group, string deadLetterId, string entryId);

    [LoggerMessage(15, LogLevel.Error, "The safety cap of '{Stream}' ({Cap} entries) dropped {Count} entries that a consumer group had not acknowledged (a group lags or is abandoned: delete it with XGROUP DESTROY or raise the cap).")]
    public static partial void CapDropped(ILogger logger, string stream, long cap, long count);

    [LoggerMessage(16, LogLevel.Warning, "Stream maintenance of '{Topic}' failed; it is retried on the next pass.")]
    public static partial void MaintenanceFailed(ILogger logger, Exception exception, string topic);

    [LoggerMessage(17, LogLevel.Information, "Removed consumer '{Consumer}' of group '{Group}' on '{Topic}': no pending entries and idle for at least {IdleTime}.")]
    public static partial void ConsumerRemoved(ILogger logger, string topic, string group, string consumer, TimeSpan idleTime);
}
