using System.Text.Json;

namespace Communication.Bus;

/// <summary>
/// A message to publish. The bus fills in the id (unless <see cref="Id"/> is set), the timestamp, the sender
/// (<c>Bus:ServiceName</c>), the trace context in <see cref="Meta"/> and the signatures.
/// </summary>
public sealed record OutgoingMessage
{
    /// <summary>Creates a message with a payload that is already UTF-8 JSON.</summary>
    /// <param name="type">The message type.</param>
    /// <param name="topic">The topic (stream <c>bus:{topic}</c>).</param>
    /// <param name="payload">The payload as UTF-8 JSON text; these exact bytes are signed.</param>
    public OutgoingMessage(MessageType type, string topic, ReadOnlyMemory<byte> payload)
    {
        Type = type;
        Topic = topic;
        Payload = payload;
    }

    /// <summary>The message type.</summary>
    public MessageType Type { get; init; }

    /// <summary>The topic; the message is appended to the stream <c>bus:{Topic}</c>.</summary>
    public string Topic { get; init; }

    /// <summary>The payload as UTF-8 JSON text (any JSON value); these exact bytes are signed.</summary>
    public ReadOnlyMemory<byte> Payload { get; init; }

    /// <summary>The recipients (agent or service names). Empty means anyone subscribed to the topic.</summary>
    public IReadOnlyList<string> To { get; init; } = [];

    /// <summary>The delivery guarantee. Default <see cref="QualityOfService.AtLeastOnce"/>.</summary>
    public QualityOfService Qos { get; init; } = QualityOfService.AtLeastOnce;

    /// <summary>Correlates a reply with its request; set by <see cref="IMessageBus.RequestAsync"/> when absent.</summary>
    public string? CorrelationId { get; init; }

    /// <summary>The topic a reply should be published to; set by <see cref="IMessageBus.RequestAsync"/>.</summary>
    public string? ReplyTo { get; init; }

    /// <summary>Extra string metadata (not signed). The bus adds <c>traceparent</c> / <c>tracestate</c>.</summary>
    public IReadOnlyDictionary<string, string>? Meta { get; init; }

    /// <summary>A caller-chosen message id (a UUID); a new UUID v7 when <see langword="null"/>.</summary>
    public string? Id { get; init; }

    /// <summary>Creates a message whose payload is <paramref name="payload"/> serialized with System.Text.Json.</summary>
    /// <typeparam name="T">The payload type.</typeparam>
    /// <param name="type">The message type.</param>
    /// <param name="topic">The topic.</param>
    /// <param name="payload">The payload value.</param>
    /// <param name="to">The recipients; none when <see langword="null"/>.</param>
    /// <param name="qos">The delivery guarantee.</param>
    /// <param name="jsonOptions">Serializer options; <see cref="JsonSerializerDefaults.Web"/> when <see langword="null"/>.</param>
    public static OutgoingMessage Create<T>(
        MessageType type,
        string topic,
        T payload,
        IReadOnlyList<string>? to = null,
        QualityOfService qos = QualityOfService.AtLeastOnce,
        JsonSerializerOptions? jsonOptions = null) =>
        new(type, topic, JsonSerializer.SerializeToUtf8Bytes(payload, jsonOptions ?? BusJson.WebOptions))
        {
            To = to ?? [],
            Qos = qos,
        };
}

/// <summary>Shared serializer options.</summary>
internal static class BusJson
{
    public static readonly JsonSerializerOptions WebOptions = new(JsonSerializerDefaults.Web);
}
