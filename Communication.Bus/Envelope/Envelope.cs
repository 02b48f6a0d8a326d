namespace Communication.Bus;

/// <summary>A parsed, validated (not yet verified) envelope as read from a stream entry.</summary>
internal sealed class Envelope
{
    public required string Id { get; init; }
    public required long Timestamp { get; init; }
    public required MessageType Type { get; init; }
    public required QualityOfService Qos { get; init; }
    public required string Topic { get; init; }
    public required string From { get; init; }
    public required string[] To { get; init; }
    public required string CorrelationId { get; init; }
    public required string ReplyTo { get; init; }
    public required Dictionary<string, string> Meta { get; init; }
    public required ReadOnlyMemory<byte> Payload { get; init; }
    public required string KeyId { get; init; }
    public required string Signature { get; init; }

    /// <summary>The lower-cased id, used in idempotency keys.</summary>
    public string NormalizedId => Id.ToLowerInvariant();
}

/// <summary>Size and shape limits applied to every envelope.</summary>
/// <param name="MaxPayloadBytes">The largest payload, in bytes.</param>
/// <param name="MaxPayloadDepth">The deepest nesting of arrays/objects in the payload.</param>
internal readonly record struct EnvelopeLimits(int MaxPayloadBytes, int MaxPayloadDepth)
{
    public const int MaxNameLength = 256;
    public const int MaxRecipients = 100;
    public const int MaxMetaEntries = 64;
    public const int MaxMetaKeyLength = 128;
    public const int MaxMetaValueLength = 4096;
    public const int MaxSignatures = 8;
    public const int MaxKeyIdLength = 64;

    /// <summary>Largest unix-ms timestamp accepted (9999-12-31T23:59:59.999Z).</summary>
    public const long MaxTimestamp = 253_402_300_799_999;
}
