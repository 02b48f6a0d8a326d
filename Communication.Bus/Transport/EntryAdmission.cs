using StackExchange.Redis;

namespace Communication.Bus;

/// <summary>
/// Admission of a received stream entry (PROTOCOL.md §6), without I/O: the checks before the admit script (delivery
/// count, a replay for another group, validation, signature and sender binding, freshness), the script's keys and
/// arguments (replay protection and the exactly-once check), and what each of its codes means. The subscription
/// makes the Redis calls and acts on the decisions.
/// </summary>
internal sealed class EntryAdmission
{
    private readonly string _topic;
    private readonly string _group;
    private readonly int _maxDeliveries;
    private readonly CommunicationBusSettings _settings;
    private readonly EnvelopeLimits _limits;
    private readonly SigningKeyRing _keyRing;
    private readonly TimeProvider _clock;
    private readonly long _toleranceMs;
    private readonly long _maxBacklogAgeMs;

    /// <param name="topic">The subscription's topic.</param>
    /// <param name="group">The subscription's consumer group.</param>
    /// <param name="maxDeliveries">The subscription's <see cref="SubscriptionOptions.MaxDeliveries"/>.</param>
    /// <param name="settings">The bus settings (signing tolerance and backlog age, replay protection TTL).</param>
    /// <param name="limits">The envelope limits.</param>
    /// <param name="keyRing">The keys signatures are verified with.</param>
    /// <param name="clock">The clock messages are checked against.</param>
    public EntryAdmission(string topic, string group, int maxDeliveries, CommunicationBusSettings settings, EnvelopeLimits limits,
        SigningKeyRing keyRing, TimeProvider clock)
    {
        _topic = topic;
        _group = group;
        _maxDeliveries = maxDeliveries;
        _settings = settings;
        _limits = limits;
        _keyRing = keyRing;
        _clock = clock;
        _toleranceMs = (long)settings.Signing.TimestampTolerance.TotalMilliseconds;
        _maxBacklogAgeMs = (long)settings.Signing.MaxBacklogAge.TotalMilliseconds;
    }

    /// <summary>
    /// Steps 1–4 of PROTOCOL.md §6 and the freshness of step 5: <see cref="AdmissionOutcome.DeadLetter"/>
    /// (max-deliveries), <see cref="AdmissionOutcome.OtherGroup"/>, <see cref="AdmissionOutcome.Reject"/>, or
    /// <see cref="AdmissionOutcome.Candidate"/> for the admit script.
    /// </summary>
    /// <param name="entry">The entry as read or reclaimed.</param>
    /// <param name="deliveries">Its delivery count to this group.</param>
    public AdmissionDecision Check(StreamEntry entry, int deliveries)
    {
        if (deliveries > _maxDeliveries)
        {
            return AdmissionDecision.DeadLetter(RejectionReasons.MaxDeliveries,
                $"delivered {deliveries} times without being acknowledged (MaxDeliveries {_maxDeliveries})");
        }

        if (IsForAnotherGroup(entry))
        {
            return new AdmissionDecision(AdmissionOutcome.OtherGroup);
        }

        return Inspect(entry, deliveries);
    }

    /// <summary>
    /// The keys and arguments of <see cref="Scripts.Admit"/> for the candidates, in order: per candidate its seen key
    /// and its done key (the seen key again when not exactly-once); the seen TTL, then per candidate its entry id,
    /// '1' when fresh and '1' for exactly-once.
    /// </summary>
    public (RedisKey[] Keys, RedisValue[] Args) AdmitScriptArguments(IReadOnlyList<AdmissionCandidate> candidates)
    {
        var keys = new RedisKey[candidates.Count * 2];
        var args = new RedisValue[1 + (candidates.Count * 3)];
        args[0] = (long)_settings.ReplayProtectionTtl.TotalMilliseconds;
        for (var i = 0; i < candidates.Count; i++)
        {
            var c = candidates[i];
            var id = c.Envelope.NormalizedId;
            var exactlyOnce = c.Envelope.Qos == QualityOfService.ExactlyOnce;
            keys[2 * i] = BusProtocol.SeenKey(_topic, _group, id);
            keys[(2 * i) + 1] = exactlyOnce ? BusProtocol.DoneKey(_topic, _group, id) : keys[2 * i];
            args[1 + (3 * i)] = c.Entry.Id;
            args[2 + (3 * i)] = c.Fresh ? "1" : "0";
            args[3 + (3 * i)] = exactlyOnce ? "1" : "0";
        }

        return (keys, args);
    }

    /// <summary>
    /// What the admit script's code for a candidate means: 0 <see cref="AdmissionOutcome.Reject"/> (replayed), -1
    /// <see cref="AdmissionOutcome.Reject"/> (stale timestamp), 2 <see cref="AdmissionOutcome.AlreadyHandled"/>,
    /// anything else <see cref="AdmissionOutcome.Handle"/> with the message.
    /// </summary>
    public AdmissionDecision Decide(AdmissionCandidate candidate, int code)
    {
        var (entry, deliveries, envelope, keyId, _) = candidate;
        return code switch
        {
            0 => AdmissionDecision.Rejected(RejectionReasons.Replayed,
                $"message {envelope.Id} was already accepted by group '{_group}' from another stream entry") with { Candidate = candidate },
            -1 => AdmissionDecision.Rejected(RejectionReasons.StaleTimestamp, StaleDetail(envelope, entry.Id)) with { Candidate = candidate },
            2 => new AdmissionDecision(AdmissionOutcome.AlreadyHandled) { Candidate = candidate },
            _ => new AdmissionDecision(AdmissionOutcome.Handle)
            {
                Candidate = candidate,
                Message = new BusMessage(
                    envelope.Id, DateTimeOffset.FromUnixTimeMilliseconds(envelope.Timestamp), envelope.Type, envelope.Qos, envelope.Topic,
                    envelope.From, envelope.To, NullIfEmpty(envelope.CorrelationId), NullIfEmpty(envelope.ReplyTo), envelope.Payload,
                    envelope.Meta, keyId, deliveries, entry.Id.ToString()),
            },
        };
    }

    private AdmissionDecision Inspect(StreamEntry entry, int deliveries)
    {
        var errors = new List<EnvelopeError>();
        var envelope = EnvelopeCodec.TryRead(entry.Values, _topic, _limits, errors, out var unsigned);
        if (envelope is null)
        {
            return unsigned
                ? AdmissionDecision.Rejected(RejectionReasons.Unsigned, "the entry has no 'sig' field")
                : AdmissionDecision.Rejected(RejectionReasons.Invalid, string.Join("; ", errors));
        }

        var now = _clock.GetUtcNow();
        Span<byte> stack = stackalloc byte[1024];
        using var header = new CanonicalBytes.HeaderBuffer(
            CanonicalBytes.MaxHeaderLength(envelope.Id, envelope.Topic, envelope.From, envelope.To, envelope.CorrelationId, envelope.ReplyTo), stack);
        var length = CanonicalBytes.WriteHeader(header.Span, envelope.Id, envelope.Timestamp, envelope.Type, envelope.Qos,
            envelope.Topic, envelope.From, envelope.To, envelope.CorrelationId, envelope.ReplyTo);
        var keyId = _keyRing.Verify(envelope.Signature, envelope.From, header.Span[..length], envelope.Payload.Span, now, out var failure, out var verifiedBy);
        if (keyId is null)
        {
            return AdmissionDecision.Rejected(failure!, failure switch
            {
                RejectionReasons.SenderNotAllowed => $"from '{envelope.From}' is not a sender the verifying key may sign for: "
                    + string.Join("; ", verifiedBy!.Select(k => $"key '{k.Id}' is bound to [{string.Join(", ", k.Senders)}]")),
                RejectionReasons.BadSignature => $"no signature verifies; signed with [{SignatureKeyIds(envelope.Signature)}]",
                RejectionReasons.ExpiredKey => $"signed only with expired or unknown keys [{SignatureKeyIds(envelope.Signature)}]",
                _ => $"signed only with keys this consumer does not know [{SignatureKeyIds(envelope.Signature)}]",
            });
        }

        var fresh = IsFresh(now.ToUnixTimeMilliseconds(), envelope.Timestamp, entry.Id);
        return new AdmissionDecision(AdmissionOutcome.Candidate) { Candidate = new AdmissionCandidate(entry, deliveries, envelope, keyId, fresh) };
    }

    /// <summary>
    /// First-delivery freshness (PROTOCOL.md §6 step 5): the timestamp is within the tolerance of now, or of the time
    /// Redis added the entry (its id) when that was at most <see cref="BusSigningSettings.MaxBacklogAge"/> ago. The second
    /// rule lets a backlog that waited for a stopped group be delivered; a copy re-added later gets a new entry id and
    /// is still stale.
    /// </summary>
    private bool IsFresh(long nowMs, long timestamp, RedisValue entryId) =>
        Math.Abs(nowMs - timestamp) <= _toleranceMs
        || (BusProtocol.TryGetEntryMilliseconds((string?)entryId, out var addedMs)
            && Math.Abs(addedMs - timestamp) <= _toleranceMs
            && nowMs - addedMs <= _maxBacklogAgeMs);

    private string StaleDetail(Envelope envelope, RedisValue entryId)
    {
        var skew = _clock.GetUtcNow().ToUnixTimeMilliseconds() - envelope.Timestamp;
        var added = BusProtocol.TryGetEntryMilliseconds((string?)entryId, out var addedMs)
            ? $"; Redis added the entry {TimeSpan.FromMilliseconds(Math.Abs(addedMs - envelope.Timestamp))} {(addedMs >= envelope.Timestamp ? "after" : "before")} that timestamp"
            : "";
        return $"timestamp {envelope.Timestamp} is {TimeSpan.FromMilliseconds(Math.Abs(skew))} {(skew >= 0 ? "in the past" : "in the future")}{added}; the tolerance is {_settings.Signing.TimestampTolerance}, the maximum backlog age {_settings.Signing.MaxBacklogAge}";
    }

    private static string SignatureKeyIds(string signature) =>
        string.Join(", ", signature.Split(' ').Select(s => s.Split(':')[0]));

    private bool IsForAnotherGroup(StreamEntry entry)
    {
        foreach (var field in entry.Values)
        {
            if (field.Name == BusProtocol.Fields.ReplayGroup)
            {
                return field.Value != _group;
            }
        }

        return false;
    }

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;
}

/// <summary>What the subscription does with an entry.</summary>
internal enum AdmissionOutcome
{
    /// <summary>Dead-letter it with <see cref="AdmissionDecision.Reason"/> and counted as rejected (<c>bus.messages.rejected</c>, logged).</summary>
    Reject,

    /// <summary>Dead-letter it with <see cref="AdmissionDecision.Reason"/>, not counted as rejected (max-deliveries).</summary>
    DeadLetter,

    /// <summary>A dead letter replayed for another group (<c>replayGroup</c>): acknowledge it without handling.</summary>
    OtherGroup,

    /// <summary>Passed the checks without I/O: the admit script decides (<see cref="AdmissionDecision.Candidate"/>).</summary>
    Candidate,

    /// <summary>Exactly-once and handled before (its done key exists): acknowledge it without handling.</summary>
    AlreadyHandled,

    /// <summary>Hand <see cref="AdmissionDecision.Message"/> to the handler.</summary>
    Handle,
}

/// <summary>The decision on an entry: the outcome and, by outcome, the dead letter's reason and detail, the candidate, the message.</summary>
internal readonly record struct AdmissionDecision(AdmissionOutcome Outcome)
{
    /// <summary>The dead letter's reason (<see cref="RejectionReasons"/>), for <see cref="AdmissionOutcome.Reject"/> and <see cref="AdmissionOutcome.DeadLetter"/>.</summary>
    public string Reason { get; init; } = "";

    /// <summary>The dead letter's detail, for <see cref="AdmissionOutcome.Reject"/> and <see cref="AdmissionOutcome.DeadLetter"/>.</summary>
    public string Detail { get; init; } = "";

    /// <summary>The verified entry, from <see cref="AdmissionOutcome.Candidate"/> on (and for the script's rejections).</summary>
    public AdmissionCandidate? Candidate { get; init; }

    /// <summary>The message to handle, for <see cref="AdmissionOutcome.Handle"/>.</summary>
    public BusMessage? Message { get; init; }

    public static AdmissionDecision Rejected(string reason, string detail) => new(AdmissionOutcome.Reject) { Reason = reason, Detail = detail };

    public static AdmissionDecision DeadLetter(string reason, string detail) => new(AdmissionOutcome.DeadLetter) { Reason = reason, Detail = detail };
}

/// <summary>An entry that passed the checks without I/O, waiting for the admit script.</summary>
/// <param name="Entry">The stream entry.</param>
/// <param name="Deliveries">Its delivery count.</param>
/// <param name="Envelope">The validated envelope.</param>
/// <param name="KeyId">The key whose signature verified.</param>
/// <param name="Fresh">Whether the timestamp passes the freshness rule (needed unless the group accepted this entry before).</param>
internal sealed record AdmissionCandidate(StreamEntry Entry, int Deliveries, Envelope Envelope, string KeyId, bool Fresh);
