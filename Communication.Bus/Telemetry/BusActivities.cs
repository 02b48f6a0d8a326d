using System.Diagnostics;

namespace Communication.Bus;

/// <summary>
/// The bus's spans, in one place: the producer span of a publish, the consumer span of a delivery, and the trace
/// context carried between them in the envelope's <c>meta</c> (<c>traceparent</c>, <c>tracestate</c>; PROTOCOL.md §10).
/// </summary>
internal static class BusActivities
{
    private const string TraceParent = "traceparent";
    private const string TraceState = "tracestate";

    /// <summary>Starts the producer span of a publish (<c>send &lt;topic&gt;</c>), or <see langword="null"/> when nobody listens.</summary>
    public static Activity? StartSend(OutgoingMessage message, string id)
    {
        var activity = CommunicationBusTelemetry.Source.StartActivity("send " + message.Topic, ActivityKind.Producer);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(BusTags.System, BusTags.SystemValue);
            activity.SetTag(BusTags.OperationType, "send");
            activity.SetTag(BusTags.OperationName, "publish");
            activity.SetTag(BusTags.Destination, message.Topic);
            activity.SetTag(BusTags.MessageId, id);
            activity.SetTag(BusTags.MessageType, message.Type.ToWireName());
            activity.SetTag(BusTags.BodySize, message.Payload.Length);
            if (!string.IsNullOrEmpty(message.CorrelationId))
            {
                activity.SetTag(BusTags.ConversationId, message.CorrelationId);
            }
        }

        return activity;
    }

    /// <summary>
    /// The meta to publish: <paramref name="meta"/> with the <c>traceparent</c> (and <c>tracestate</c>) of
    /// <paramref name="trace"/>, or <paramref name="meta"/> itself when there is no trace.
    /// </summary>
    public static IReadOnlyDictionary<string, string> WithTraceContext(IReadOnlyDictionary<string, string> meta, Activity? trace)
    {
        if (trace is null)
        {
            return meta;
        }

        var withTrace = new Dictionary<string, string>(meta, StringComparer.Ordinal);
        DistributedContextPropagator.Current.Inject(trace, withTrace, static (carrier, name, value) =>
        {
            if (carrier is Dictionary<string, string> map && value is not null && name is TraceParent or TraceState)
            {
                map[name] = value;
            }
        });
        return withTrace;
    }

    /// <summary>
    /// Starts the consumer span of a delivery (<c>process &lt;topic&gt;</c>) as the child of the publisher's span named by
    /// the message's <c>traceparent</c>, or <see langword="null"/> when nobody listens.
    /// </summary>
    public static Activity? StartProcess(BusMessage message, string topic, string group, string consumer)
    {
        ActivityContext parent = default;
        if (message.Meta.TryGetValue(TraceParent, out var traceparent))
        {
            message.Meta.TryGetValue(TraceState, out var tracestate);
            _ = ActivityContext.TryParse(traceparent, tracestate, isRemote: true, out parent);
        }

        var activity = CommunicationBusTelemetry.Source.StartActivity("process " + topic, ActivityKind.Consumer, parent);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(BusTags.System, BusTags.SystemValue);
            activity.SetTag(BusTags.OperationType, "process");
            activity.SetTag(BusTags.OperationName, "process");
            activity.SetTag(BusTags.Destination, topic);
            activity.SetTag(BusTags.ConsumerGroup, group);
            activity.SetTag(BusTags.ClientId, consumer);
            activity.SetTag(BusTags.MessageId, message.Id);
            activity.SetTag(BusTags.MessageType, message.Type.ToWireName());
            activity.SetTag(BusTags.EntryId, message.EntryId);
            activity.SetTag(BusTags.DeliveryCount, message.DeliveryCount);
            activity.SetTag(BusTags.BodySize, message.Payload.Length);
            if (message.CorrelationId is not null)
            {
                activity.SetTag(BusTags.ConversationId, message.CorrelationId);
            }
        }

        return activity;
    }

    /// <summary>Marks a span failed: status Error with the exception's message, and <c>error.type</c>.</summary>
    public static void SetFailed(Activity? activity, Exception exception)
    {
        activity?.SetStatus(ActivityStatusCode.Error, exception.Message);
        activity?.SetTag(BusTags.ErrorType, exception.GetType().FullName);
    }
}
