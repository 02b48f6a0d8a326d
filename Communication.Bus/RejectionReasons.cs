namespace Communication.Bus;

/// <summary>
/// Stable reason strings written in the <c>dlq.reason</c> field of a dead letter and used as the <c>bus.reason</c>
/// tag of the rejected / dead-lettered counters. Part of the public protocol.
/// </summary>
public static class RejectionReasons
{
    /// <summary>The entry is not a valid envelope (field-level details in <c>dlq.detail</c>).</summary>
    public const string Invalid = "invalid";

    /// <summary>The entry carries no signature.</summary>
    public const string Unsigned = "unsigned";

    /// <summary>A signature names a trusted key but does not verify (forged or tampered message).</summary>
    public const string BadSignature = "bad-signature";

    /// <summary>No signature names a key this consumer knows (never configured, or removed).</summary>
    public const string UnknownKey = "unknown-key";

    /// <summary>The only known keys the message is signed with are past their expiry.</summary>
    public const string ExpiredKey = "expired-key";

    /// <summary>
    /// A signature verifies, but only with keys that are not bound to the message's <c>from</c>
    /// (<c>Bus:Signing:Keys:N:Senders</c>): an authentic message from one sender claiming to be another.
    /// </summary>
    public const string SenderNotAllowed = "sender-not-allowed";

    /// <summary>The timestamp is outside the tolerance (default 5 minutes) on first delivery.</summary>
    public const string StaleTimestamp = "stale-timestamp";

    /// <summary>A message with this id was already accepted by this consumer group from another stream entry.</summary>
    public const string Replayed = "replayed";

    /// <summary>
    /// The handler rejected the payload as permanently invalid (<see cref="InvalidPayloadException"/>): dead-lettered on
    /// its first delivery, never retried.
    /// </summary>
    public const string InvalidPayload = "invalid-payload";

    /// <summary>The handler failed (or the consumer crashed) on every one of the allowed deliveries.</summary>
    public const string MaxDeliveries = "max-deliveries";
}
