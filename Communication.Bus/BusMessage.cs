using System.Text.Json;

namespace Communication.Bus;

/// <summary>
/// A received message that passed validation, signature verification, the timestamp tolerance and replay protection.
/// </summary>
public sealed class BusMessage
{
    /// <summary>Creates a received message (used by the transport and by tests).</summary>
    /// <param name="id">The message id.</param>
    /// <param name="timestamp">The creation time.</param>
    /// <param name="type">The message type.</param>
    /// <param name="qos">The quality of service.</param>
    /// <param name="topic">The topic.</param>
    /// <param name="from">The sender.</param>
    /// <param name="to">The recipients.</param>
    /// <param name="correlationId">The correlation id, if any.</param>
    /// <param name="replyTo">The reply topic, if any.</param>
    /// <param name="payload">The payload's exact UTF-8 JSON bytes.</param>
    /// <param name="meta">The metadata.</param>
    /// <param name="keyId">The id of the key whose signature verified.</param>
    /// <param name="deliveryCount">How many times the entry was delivered to the consumer group.</param>
    /// <param name="entryId">The Redis stream entry id.</param>
    public BusMessage(
        string id,
        DateTimeOffset timestamp,
        MessageType type,
        QualityOfService qos,
        string topic,
        string from,
        IReadOnlyList<string> to,
        string? correlationId,
        string? replyTo,
        ReadOnlyMemory<byte> payload,
        IReadOnlyDictionary<string, string> meta,
        string keyId,
        int deliveryCount,
        string entryId)
    {
        Id = id;
        Timestamp = timestamp;
        Type = type;
        Qos = qos;
        Topic = topic;
        From = from;
        To = to;
        CorrelationId = correlationId;
        ReplyTo = replyTo;
        Payload = payload;
        Meta = meta;
        KeyId = keyId;
        DeliveryCount = deliveryCount;
        EntryId = entryId;
    }

    /// <summary>The message id (UUID).</summary>
    public string Id { get; }

    /// <summary>When the sender created the message.</summary>
    public DateTimeOffset Timestamp { get; }

    /// <summary>The message type.</summary>
    public MessageType Type { get; }

    /// <summary>The quality of service the sender asked for.</summary>
    public QualityOfService Qos { get; }

    /// <summary>The topic.</summary>
    public string Topic { get; }

    /// <summary>The sender.</summary>
    public string From { get; }

    /// <summary>The recipients (empty: anyone on the topic).</summary>
    public IReadOnlyList<string> To { get; }

    /// <summary>The correlation id, or <see langword="null"/>.</summary>
    public string? CorrelationId { get; }

    /// <summary>The reply topic, or <see langword="null"/>.</summary>
    public string? ReplyTo { get; }

    /// <summary>The payload's exact UTF-8 JSON bytes (the signed bytes).</summary>
    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>The metadata (unsigned; carries the trace context).</summary>
    public IReadOnlyDictionary<string, string> Meta { get; }

    /// <summary>The id of the key whose signature verified.</summary>
    public string KeyId { get; }

    /// <summary>How many times the stream entry was delivered to this consumer group (1 on first delivery).</summary>
    public int DeliveryCount { get; }

    /// <summary>The Redis stream entry id.</summary>
    public string EntryId { get; }

    /// <summary>Deserializes the payload.</summary>
    /// <typeparam name="T">The payload type.</typeparam>
    /// <param name="options">Serializer options; <see cref="JsonSerializerDefaults.Web"/> when <see langword="null"/>.</param>
    public T? GetPayload<T>(JsonSerializerOptions? options = null) =>
        JsonSerializer.Deserialize<T>(Payload.Span, options ?? BusJson.WebOptions);

    /// <summary>
    /// Deserializes the payload as <typeparamref name="T"/>, or throws <see cref="InvalidPayloadException"/> when it
    /// is not one (wrong JSON shape or <c>null</c>): thrown from a handler, the subscription dead-letters the entry at
    /// once with reason <c>invalid-payload</c> instead of retrying it.
    /// </summary>
    /// <typeparam name="T">The payload type.</typeparam>
    /// <param name="options">Serializer options; web defaults when <see langword="null"/>.</param>
    /// <exception cref="InvalidPayloadException">The payload is not a <typeparamref name="T"/>.</exception>
    public T GetRequiredPayload<T>(JsonSerializerOptions? options = null)
    {
        try
        {
            return GetPayload<T>(options) ?? throw new InvalidPayloadException($"The payload of {Type.ToWireName()} {Id} is null, not a {typeof(T).Name}.");
        }
        catch (JsonException ex)
        {
            throw new InvalidPayloadException($"The payload of {Type.ToWireName()} {Id} is not a {typeof(T).Name}: {ex.Message}", ex);
        }
    }

    /// <summary>Renders the message as a JSON envelope (payload as a JSON value), for logs and debugging.</summary>
    public string ToJson() => EnvelopeJson.Render(this);

    /// <inheritdoc />
    public override string ToString() => $"{Type.ToWireName()} {Id} on {Topic} from {From}";
}

/// <summary>What <see cref="IMessageBus.PublishAsync"/> wrote.</summary>
/// <param name="MessageId">The message id.</param>
/// <param name="EntryId">The Redis stream entry id.</param>
/// <param name="Topic">The topic.</param>
/// <param name="Timestamp">The timestamp written in the envelope.</param>
public sealed record PublishReceipt(string MessageId, string EntryId, string Topic, DateTimeOffset Timestamp);
