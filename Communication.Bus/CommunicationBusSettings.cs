namespace Communication.Bus;

/// <summary>
/// Settings of the communication bus, bound from the <c>Bus</c> configuration section and validated at start-up.
/// </summary>
public sealed class CommunicationBusSettings
{
    /// <summary>The configuration section the settings are bound from.</summary>
    public const string SectionName = "Bus";

    /// <summary>
    /// The Redis connection string. When not set, <c>ConnectionStrings:{connectionName}</c> is used
    /// (the Aspire client integration reads it).
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>Disables the bus health check. Default <see langword="false"/>.</summary>
    public bool DisableHealthChecks { get; set; }

    /// <summary>Disables the bus tracing (ActivitySource). Default <see langword="false"/>.</summary>
    public bool DisableTracing { get; set; }

    /// <summary>
    /// This service's name: the <c>from</c> of its messages and the default consumer group. Defaults to the host's
    /// application name; must match <c>^[A-Za-z0-9._:-]{1,200}$</c>.
    /// </summary>
    public string? ServiceName { get; set; }

    /// <summary>
    /// This replica's consumer name. Defaults to <c>&lt;machine&gt;-&lt;process id&gt;</c>; set it to a stable name
    /// (e.g. the pod name) so a restarted replica is recognised.
    /// </summary>
    public string? ConsumerName { get; set; }

    /// <summary>The largest payload accepted, in bytes. Default 512 KiB.</summary>
    public int MaxPayloadBytes { get; set; } = 512 * 1024;

    /// <summary>The deepest nesting of arrays/objects accepted in a payload. Default 64.</summary>
    public int MaxPayloadDepth { get; set; } = 64;

    /// <summary>
    /// The hard safety cap of each topic stream. Streams are trimmed every <see cref="TrimInterval"/> only below what
    /// every consumer group has acknowledged; this cap applies only when a group lags this far behind, and whatever it
    /// drops is counted (<c>bus.stream.dropped</c>), logged as an error and reported Degraded by the health check.
    /// Default 1 000 000.
    /// </summary>
    public long StreamMaxLength { get; set; } = 1_000_000;

    /// <summary>
    /// The hard safety cap of each dead-letter stream (dead letters are removed by replaying or deleting them); a drop
    /// is counted, logged and reported like <see cref="StreamMaxLength"/>'s. Default 100 000.
    /// </summary>
    public long DeadLetterMaxLength { get; set; } = 100_000;

    /// <summary>How often the streams this bus publishes to or reads from are trimmed. Default 30 seconds.</summary>
    public TimeSpan TrimInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a consumer of a group this bus reads must have been idle, with no pending entries, before it is
    /// removed (<c>XGROUP DELCONSUMER</c>, checked every <see cref="TrimInterval"/>). Consumer names are per process
    /// (<c>&lt;machine&gt;-&lt;pid&gt;-&lt;n&gt;</c>), so every restart or scale-in leaves one behind; its pending entries
    /// are reclaimed by live consumers first. At least 1 second and at least <c>Bus:Subscription:ClaimIdleTime</c>.
    /// Default 1 hour.
    /// </summary>
    public TimeSpan DeadConsumerIdleTime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How long the replay-protection key of a message id lives. At least twice the timestamp tolerance, so a copy
    /// within the tolerance is always recognised. Default 15 minutes.
    /// </summary>
    public TimeSpan ReplayProtectionTtl { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long the exactly-once completion record of a message id lives. Default 24 hours.</summary>
    public TimeSpan ExactlyOnceTtl { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Retries of a publish after a transient Redis error (Polly, exponential backoff). Default 3.</summary>
    public int PublishRetries { get; set; } = 3;

    /// <summary>Signing keys and the timestamp tolerance (<c>Bus:Signing</c>).</summary>
    public BusSigningSettings Signing { get; set; } = new();

    /// <summary>Default options of subscriptions (<c>Bus:Subscription</c>).</summary>
    public SubscriptionOptions Subscription { get; set; } = new();
}

/// <summary>Signing settings (<c>Bus:Signing</c>).</summary>
public sealed class BusSigningSettings
{
    /// <summary>The key ring (<c>Bus:Signing:Keys:N:Id|Secret|State|ExpiresAt|Senders</c>). At least one active key that may sign for this service is required.</summary>
    public IList<SigningKeySettings> Keys { get; } = [];

    /// <summary>
    /// How far a message's timestamp may be, either way, from now or from the time Redis added its entry to the stream
    /// (the entry id) on first delivery. Default 5 minutes.
    /// </summary>
    public TimeSpan TimestampTolerance { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long an entry may wait in the stream (a stopped or lagging consumer group) and still be accepted on first
    /// delivery when its timestamp matches the time Redis added it. Older entries are dead-lettered as
    /// <c>stale-timestamp</c> (replayable). Default 24 hours; at least <see cref="TimestampTolerance"/>.
    /// </summary>
    public TimeSpan MaxBacklogAge { get; set; } = TimeSpan.FromHours(24);
}

/// <summary>One configured signing key (<c>Bus:Signing:Keys:N</c>).</summary>
public sealed class SigningKeySettings
{
    /// <summary>The key id, <c>^[A-Za-z0-9._-]{1,64}$</c>; written in signatures.</summary>
    public string? Id { get; set; }

    /// <summary>The secret; its UTF-8 bytes are the HMAC key and must be at least 32 bytes.</summary>
    public string? Secret { get; set; }

    /// <summary><c>active</c> (default: signs and verifies) or <c>verify-only</c> (deprecated: verifies, never signs).</summary>
    public string? State { get; set; } = "active";

    /// <summary>Optional expiry (ISO 8601); afterwards the key neither signs nor verifies.</summary>
    public DateTimeOffset? ExpiresAt { get; set; }

    /// <summary>
    /// The senders this key may sign for, comma-separated: exact <c>from</c> names, prefixes ending in <c>*</c>
    /// (<c>team.*</c>), or <c>*</c>. A message whose <c>from</c> its verifying key does not allow is dead-lettered
    /// <c>sender-not-allowed</c>, and a service signs only with the keys that allow its own name. Empty (the default):
    /// a shared key that may sign for any sender.
    /// </summary>
    public string? Senders { get; set; }

    /// <summary>Parses a configured state (case-insensitive); <see langword="null"/> when unknown.</summary>
    /// <param name="state">The configured state; <c>active</c> when empty.</param>
    public static SigningKeyState? ParseState(string? state) => state?.Trim().ToLowerInvariant() switch
    {
        null or "" or "active" => SigningKeyState.Active,
        "verify-only" => SigningKeyState.VerifyOnly,
        _ => null,
    };
}
