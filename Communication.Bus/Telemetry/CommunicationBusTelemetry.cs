using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Communication.Bus;

/// <summary>The bus's telemetry names (registered with OpenTelemetry by <c>AddCommunicationBus</c>).</summary>
public static class CommunicationBusTelemetry
{
    /// <summary>The ActivitySource name: <c>Communication.Bus</c>.</summary>
    public const string ActivitySourceName = "Communication.Bus";

    /// <summary>The Meter name: <c>Communication.Bus</c>.</summary>
    public const string MeterName = "Communication.Bus";

    /// <summary>Counter: messages published (tags <c>messaging.destination.name</c>, <c>bus.message.type</c>).</summary>
    public const string PublishedCounter = "bus.messages.published";

    /// <summary>Counter: verified messages handed to a handler (tags destination, <c>messaging.consumer.group.name</c>).</summary>
    public const string DeliveredCounter = "bus.messages.delivered";

    /// <summary>Counter: entries acknowledged after delivery (tags destination, group).</summary>
    public const string AckedCounter = "bus.messages.acked";

    /// <summary>Counter: in-process handler retries (tags destination, group).</summary>
    public const string RetriedCounter = "bus.messages.retried";

    /// <summary>Counter: entries moved to the dead-letter stream (tags destination, group, <c>bus.reason</c>).</summary>
    public const string DeadLetteredCounter = "bus.messages.dead_lettered";

    /// <summary>Counter: entries rejected before any handler (tags destination, group, <c>bus.reason</c>).</summary>
    public const string RejectedCounter = "bus.messages.rejected";

    /// <summary>
    /// Counter: stream entries trimmed because every consumer group had acknowledged them (tag destination). Nothing
    /// any group still needs is ever trimmed; see <see cref="DroppedCounter"/> for the exception.
    /// </summary>
    public const string TrimmedCounter = "bus.stream.trimmed";

    /// <summary>
    /// Counter: entries the hard safety cap (<c>Bus:StreamMaxLength</c>, <c>Bus:DeadLetterMaxLength</c>) had to drop
    /// although a consumer group had not acknowledged them, or dead letters (tags destination,
    /// <c>bus.stream.kind</c> = <c>topic</c> or <c>dead-letter</c>). Any increase is a loss: logged as an error and
    /// reported Degraded by the health check for 15 minutes.
    /// </summary>
    public const string DroppedCounter = "bus.stream.dropped";

    /// <summary>Histogram: handler duration in seconds, retries included (tags destination, group, <c>error.type</c>).</summary>
    public const string HandlerDurationHistogram = "bus.handler.duration";

    internal static readonly ActivitySource Source = new(ActivitySourceName, typeof(CommunicationBusTelemetry).Assembly.GetName().Version?.ToString());
}

/// <summary>The bus's instruments, created from an <see cref="IMeterFactory"/> when there is one.</summary>
internal sealed class BusMetrics : IDisposable
{
    private readonly Meter _meter;

    public BusMetrics(IMeterFactory? meterFactory)
    {
        _meter = meterFactory?.Create(CommunicationBusTelemetry.MeterName) ?? new Meter(CommunicationBusTelemetry.MeterName);
        Published = _meter.CreateCounter<long>(CommunicationBusTelemetry.PublishedCounter, "{message}", "Messages published.");
        Delivered = _meter.CreateCounter<long>(CommunicationBusTelemetry.DeliveredCounter, "{message}", "Verified messages handed to a handler.");
        Acked = _meter.CreateCounter<long>(CommunicationBusTelemetry.AckedCounter, "{message}", "Entries acknowledged.");
        Retried = _meter.CreateCounter<long>(CommunicationBusTelemetry.RetriedCounter, "{retry}", "In-process handler retries.");
        DeadLettered = _meter.CreateCounter<long>(CommunicationBusTelemetry.DeadLetteredCounter, "{message}", "Entries moved to the dead-letter stream.");
        Rejected = _meter.CreateCounter<long>(CommunicationBusTelemetry.RejectedCounter, "{message}", "Entries rejected before any handler.");
        Trimmed = _meter.CreateCounter<long>(CommunicationBusTelemetry.TrimmedCounter, "{entry}", "Stream entries trimmed after every consumer group acknowledged them.");
        Dropped = _meter.CreateCounter<long>(CommunicationBusTelemetry.DroppedCounter, "{entry}", "Entries a safety cap dropped before every consumer group acknowledged them, or dead letters.");
        HandlerDuration = _meter.CreateHistogram<double>(CommunicationBusTelemetry.HandlerDurationHistogram, "s", "Handler duration, retries included.");
    }

    public Counter<long> Published { get; }
    public Counter<long> Delivered { get; }
    public Counter<long> Acked { get; }
    public Counter<long> Retried { get; }
    public Counter<long> DeadLettered { get; }
    public Counter<long> Rejected { get; }
    public Counter<long> Trimmed { get; }
    public Counter<long> Dropped { get; }
    public Histogram<double> HandlerDuration { get; }

    public void Dispose() => _meter.Dispose();
}

/// <summary>Span and metric attribute names (OpenTelemetry messaging semantic conventions where they exist).</summary>
internal static class BusTags
{
    public const string System = "messaging.system";
    public const string SystemValue = "redis";
    public const string OperationType = "messaging.operation.type";
    public const string OperationName = "messaging.operation.name";
    public const string Destination = "messaging.destination.name";
    public const string ConsumerGroup = "messaging.consumer.group.name";
    public const string MessageId = "messaging.message.id";
    public const string ConversationId = "messaging.message.conversation_id";
    public const string BodySize = "messaging.message.body.size";
    public const string ClientId = "messaging.client.id";
    public const string EntryId = "messaging.redis.stream.entry_id";
    public const string DeliveryCount = "bus.delivery_count";
    public const string MessageType = "bus.message.type";
    public const string Reason = "bus.reason";
    public const string ErrorType = "error.type";
    public const string StreamKind = "bus.stream.kind";

    /// <summary>The metric tag template of per-process reply topics (<c>reply.&lt;service&gt;.&lt;consumer&gt;</c>) and their groups.</summary>
    public const string ReplyTemplate = "reply.*";

    /// <summary>
    /// The destination tag of a metric: <see cref="ReplyTemplate"/> for a reply topic (one per process: raw, it would
    /// add a time series per replica start), the topic otherwise. Spans keep the raw topic.
    /// </summary>
    public static string TopicTemplate(string topic) => IsReplyTopic(topic) ? ReplyTemplate : topic;

    /// <summary>Whether a topic is a per-process reply topic (<c>reply.</c> prefix).</summary>
    public static bool IsReplyTopic(string topic) => topic.StartsWith("reply.", StringComparison.Ordinal);
}
