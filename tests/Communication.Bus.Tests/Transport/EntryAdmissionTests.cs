using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Communication.Bus.Tests;

/// <summary>
/// Every decision of the admission without I/O (PROTOCOL.md §6) on a fake clock, without Redis: entries are signed here
/// like a publisher signs them.
/// </summary>
public sealed class EntryAdmissionTests
{
    private const string Topic = "orders.admission";
    private const string Group = "workers";
    private const string OtherSecret = "other-secret-0123456789abcdefghijklmnopqrs";
    private static readonly DateTimeOffset Start = new(2026, 12, 6, 7, 0, 0, TimeSpan.Zero);

    private readonly FakeTimeProvider _clock = new(Start);
    private readonly SigningKey _k1 = new("k1", TestBus.Secret1);

    private long NowMs => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    private EntryAdmission Admission(params SigningKey[] keys)
    {
        var settings = TestBus.Settings();
        return new EntryAdmission(Topic, Group, maxDeliveries: 3, settings,
            new EnvelopeLimits(settings.MaxPayloadBytes, settings.MaxPayloadDepth),
            new SigningKeyRing(keys.Length == 0 ? [_k1] : keys), _clock);
    }

    private static OutgoingMessage Message(QualityOfService qos = QualityOfService.AtLeastOnce) =>
        OutgoingMessage.Create(MessageType.Task, Topic, new Work("job", 1), to: ["worker"], qos: qos);

    /// <summary>The fields a publisher writes: canonical header, one signature per key, <see cref="EnvelopeCodec.ToFields"/>.</summary>
    private static NameValueEntry[] Signed(OutgoingMessage message, string id, long ts, IReadOnlyList<SigningKey> keys, string from = "svc")
    {
        var header = new byte[CanonicalBytes.MaxHeaderLength(id, message.Topic, from, message.To, message.CorrelationId, message.ReplyTo)];
        var length = CanonicalBytes.WriteHeader(header, id, ts, message.Type, message.Qos, message.Topic, from, message.To, message.CorrelationId, message.ReplyTo);
        var signature = SigningKeyRing.Sign(keys, header.AsSpan(0, length), message.Payload.Span);
        return EnvelopeCodec.ToFields(id, ts, message, from, message.Meta ?? new Dictionary<string, string>(), keys[0].Id, signature);
    }

    private static StreamEntry Entry(long addedMs, NameValueEntry[] fields) => new($"{addedMs}-0", fields);

    private StreamEntry Good(long? ts = null, long? addedMs = null, string? id = null, QualityOfService qos = QualityOfService.AtLeastOnce) =>
        Entry(addedMs ?? NowMs, Signed(Message(qos), id ?? Guid.CreateVersion7().ToString(), ts ?? NowMs, [_k1]));

    private static NameValueEntry[] Without(NameValueEntry[] fields, params string[] names) => [.. fields.Where(f => !names.Contains(f.Name.ToString()))];

    private static NameValueEntry[] With(NameValueEntry[] fields, string name, RedisValue value) =>
        [.. fields.Select(f => f.Name == name ? new NameValueEntry(name, value) : f)];

    private static AdmissionCandidate AssertCandidate(AdmissionDecision decision)
    {
        Assert.Equal(AdmissionOutcome.Candidate, decision.Outcome);
        return Assert.IsType<AdmissionCandidate>(decision.Candidate);
    }

    private static void AssertRejected(AdmissionDecision decision, string reason, string? detail = null)
    {
        Assert.Equal(AdmissionOutcome.Reject, decision.Outcome);
        Assert.Equal(reason, decision.Reason);
        if (detail is not null)
        {
            Assert.Equal(detail, decision.Detail);
        }
    }

    [Fact]
    public void An_entry_delivered_more_than_MaxDeliveries_times_is_dead_lettered_without_counting_as_rejected()
    {
        var admission = Admission();

        var decision = admission.Check(Good(), deliveries: 4);

        Assert.Equal(AdmissionOutcome.DeadLetter, decision.Outcome);
        Assert.Equal(RejectionReasons.MaxDeliveries, decision.Reason);
        Assert.Equal("delivered 4 times without being acknowledged (MaxDeliveries 3)", decision.Detail);
        Assert.Null(decision.Candidate);
        AssertCandidate(admission.Check(Good(), deliveries: 3)); // the last allowed delivery goes on
    }

    [Fact]
    public void The_delivery_count_is_checked_before_anything_else()
    {
        var decision = Admission().Check(Entry(NowMs, [new("garbage", "x")]), deliveries: 9);

        Assert.Equal(AdmissionOutcome.DeadLetter, decision.Outcome);
        Assert.Equal(RejectionReasons.MaxDeliveries, decision.Reason);
    }

    [Fact]
    public void A_dead_letter_replayed_for_another_group_is_skipped_and_one_replayed_for_this_group_is_checked()
    {
        var admission = Admission();
        var good = Good();

        var forOthers = admission.Check(new StreamEntry(good.Id, [.. good.Values, new(BusProtocol.Fields.ReplayGroup, "billing")]), 1);
        var forUs = admission.Check(new StreamEntry(good.Id, [.. good.Values, new(BusProtocol.Fields.ReplayGroup, Group)]), 1);
        var forOthersInvalid = admission.Check(Entry(NowMs, [new(BusProtocol.Fields.ReplayGroup, "billing")]), 1);

        Assert.Equal(AdmissionOutcome.OtherGroup, forOthers.Outcome);
        AssertCandidate(forUs);
        Assert.Equal(AdmissionOutcome.OtherGroup, forOthersInvalid.Outcome); // not this group's business: not validated
    }

    [Fact]
    public void An_invalid_entry_is_rejected_with_its_field_errors()
    {
        var fields = With(Good().Values, BusProtocol.Fields.Id, "not-a-uuid");

        var decision = Admission().Check(Entry(NowMs, fields), 1);

        AssertRejected(decision, RejectionReasons.Invalid);
        Assert.StartsWith("id: ", decision.Detail);
    }

    [Fact]
    public void An_entry_without_a_signature_is_rejected_as_unsigned()
    {
        var fields = Without(Good().Values, BusProtocol.Fields.Signature, BusProtocol.Fields.KeyId);

        AssertRejected(Admission().Check(Entry(NowMs, fields), 1), RejectionReasons.Unsigned, "the entry has no 'sig' field");
    }

    [Fact]
    public void An_entry_without_a_signature_and_with_another_error_is_invalid()
    {
        var fields = With(Without(Good().Values, BusProtocol.Fields.Signature, BusProtocol.Fields.KeyId), BusProtocol.Fields.Id, "x");

        var decision = Admission().Check(Entry(NowMs, fields), 1);

        AssertRejected(decision, RejectionReasons.Invalid);
        Assert.Contains("sig: is missing", decision.Detail);
    }

    [Fact]
    public void A_tampered_payload_is_rejected_as_bad_signature()
    {
        var fields = With(Good().Values, BusProtocol.Fields.Payload, """{"name":"job","n":2}""");

        AssertRejected(Admission().Check(Entry(NowMs, fields), 1), RejectionReasons.BadSignature, "no signature verifies; signed with [k1]");
    }

    [Fact]
    public void An_entry_signed_only_with_keys_the_consumer_does_not_know_is_rejected_as_unknown_key()
    {
        var stranger = new SigningKey("kx", OtherSecret);
        var entry = Entry(NowMs, Signed(Message(), Guid.CreateVersion7().ToString(), NowMs, [stranger]));

        AssertRejected(Admission().Check(entry, 1), RejectionReasons.UnknownKey, "signed only with keys this consumer does not know [kx]");
    }

    [Fact]
    public void An_entry_signed_only_with_a_key_expired_on_the_clock_is_rejected_as_expired_key()
    {
        var expiring = new SigningKey("k2", OtherSecret, expiresAt: Start.AddMinutes(1));
        var admission = Admission(_k1, expiring);
        var id = Guid.CreateVersion7().ToString();

        AssertCandidate(admission.Check(Entry(NowMs, Signed(Message(), id, NowMs, [expiring])), 1));
        _clock.Advance(TimeSpan.FromMinutes(2));
        var decision = admission.Check(Entry(NowMs, Signed(Message(), id, NowMs, [expiring])), 1);

        AssertRejected(decision, RejectionReasons.ExpiredKey, "signed only with expired or unknown keys [k2]");
    }

    [Fact]
    public void An_authentic_entry_from_a_sender_its_key_is_not_bound_to_is_rejected_as_sender_not_allowed()
    {
        var agentKey = new SigningKey("agents", OtherSecret, senders: ["agent.*", "outside"]);
        var entry = Entry(NowMs, Signed(Message(), Guid.CreateVersion7().ToString(), NowMs, [agentKey], from: "orchestrator"));

        AssertRejected(Admission(_k1, agentKey).Check(entry, 1), RejectionReasons.SenderNotAllowed,
            "from 'orchestrator' is not a sender the verifying key may sign for: key 'agents' is bound to [agent.*, outside]");
    }

    [Fact]
    public void A_verified_entry_within_the_tolerance_of_now_is_a_fresh_candidate()
    {
        var entry = Good(ts: NowMs - 60_000, addedMs: NowMs - 60_000);

        var candidate = AssertCandidate(Admission().Check(entry, 2));

        Assert.True(candidate.Fresh);
        Assert.Equal("k1", candidate.KeyId);
        Assert.Equal(2, candidate.Deliveries);
        Assert.Equal(entry.Id, candidate.Entry.Id);
    }

    [Fact]
    public void A_backlog_entry_added_within_the_tolerance_of_its_timestamp_and_within_the_backlog_age_is_fresh()
    {
        var ts = NowMs - (long)TimeSpan.FromHours(2).TotalMilliseconds;

        Assert.True(AssertCandidate(Admission().Check(Good(ts: ts, addedMs: ts + 1_000), 1)).Fresh);
    }

    [Fact]
    public void An_old_timestamp_on_a_recent_entry_is_not_fresh_and_the_script_decides()
    {
        var ts = NowMs - (long)TimeSpan.FromHours(2).TotalMilliseconds;

        var candidate = AssertCandidate(Admission().Check(Good(ts: ts, addedMs: NowMs), 1));

        Assert.False(candidate.Fresh); // a re-appended copy: replayed while seen lives, else stale
    }

    [Fact]
    public void A_backlog_older_than_the_maximum_backlog_age_is_not_fresh()
    {
        var ts = NowMs - (long)TimeSpan.FromHours(25).TotalMilliseconds;

        Assert.False(AssertCandidate(Admission().Check(Good(ts: ts, addedMs: ts), 1)).Fresh);
    }

    [Fact]
    public void A_timestamp_beyond_the_tolerance_in_the_future_is_not_fresh()
    {
        var ts = NowMs + (long)TimeSpan.FromMinutes(6).TotalMilliseconds;

        Assert.False(AssertCandidate(Admission().Check(Good(ts: ts, addedMs: NowMs), 1)).Fresh);
    }

    [Fact]
    public void Freshness_follows_the_injected_clock()
    {
        var admission = Admission();
        var entry = Good();
        Assert.True(AssertCandidate(admission.Check(entry, 1)).Fresh);

        _clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromMilliseconds(1));
        Assert.True(AssertCandidate(admission.Check(entry, 1)).Fresh); // past the tolerance: fresh as a backlog

        _clock.Advance(TimeSpan.FromHours(24) - TimeSpan.FromMinutes(5));
        Assert.False(AssertCandidate(admission.Check(entry, 1)).Fresh); // older than the maximum backlog age
    }

    [Fact]
    public void The_admit_script_gets_seen_and_done_keys_and_per_entry_id_freshness_and_exactly_once()
    {
        var admission = Admission();
        var onceId = Guid.CreateVersion7().ToString().ToUpperInvariant();
        var atLeastOnce = AssertCandidate(admission.Check(Good(), 1));
        var stale = AssertCandidate(admission.Check(Good(ts: NowMs - 3_600_000, id: onceId, qos: QualityOfService.ExactlyOnce), 1));

        var (keys, args) = admission.AdmitScriptArguments([atLeastOnce, stale]);

        var firstId = atLeastOnce.Envelope.Id;
        var lowerOnce = onceId.ToLowerInvariant();
        RedisKey[] expectedKeys =
        [
            $"bus:{{{Topic}}}:seen:{Group}:{firstId}", $"bus:{{{Topic}}}:seen:{Group}:{firstId}",
            $"bus:{{{Topic}}}:seen:{Group}:{lowerOnce}", $"bus:{{{Topic}}}:done:{Group}:{lowerOnce}",
        ];
        RedisValue[] expectedArgs =
        [
            (long)TimeSpan.FromMinutes(15).TotalMilliseconds,
            atLeastOnce.Entry.Id, "1", "0",
            stale.Entry.Id, "0", "1",
        ];
        Assert.Equal(expectedKeys, keys);
        Assert.Equal(expectedArgs, args);
    }

    [Fact]
    public void Admit_script_code_0_rejects_the_entry_as_replayed()
    {
        var admission = Admission();
        var candidate = AssertCandidate(admission.Check(Good(), 1));

        AssertRejected(admission.Decide(candidate, 0), RejectionReasons.Replayed,
            $"message {candidate.Envelope.Id} was already accepted by group '{Group}' from another stream entry");
    }

    [Fact]
    public void Admit_script_code_minus_1_rejects_the_entry_as_stale_with_the_skew_on_the_clock()
    {
        var admission = Admission();
        var ts = NowMs - (long)TimeSpan.FromMinutes(10).TotalMilliseconds;
        var candidate = AssertCandidate(admission.Check(Good(ts: ts, addedMs: NowMs), 1));
        _clock.Advance(TimeSpan.FromMinutes(1)); // the detail is written when the script has answered

        AssertRejected(admission.Decide(candidate, -1), RejectionReasons.StaleTimestamp,
            $"timestamp {ts} is 00:11:00 in the past; Redis added the entry 00:10:00 after that timestamp; the tolerance is 00:05:00, the maximum backlog age 1.00:00:00");
    }

    [Fact]
    public void A_stale_detail_says_when_the_timestamp_is_in_the_future()
    {
        var admission = Admission();
        var ts = NowMs + (long)TimeSpan.FromMinutes(7).TotalMilliseconds;
        var candidate = AssertCandidate(admission.Check(Good(ts: ts, addedMs: NowMs), 1));

        AssertRejected(admission.Decide(candidate, -1), RejectionReasons.StaleTimestamp,
            $"timestamp {ts} is 00:07:00 in the future; Redis added the entry 00:07:00 before that timestamp; the tolerance is 00:05:00, the maximum backlog age 1.00:00:00");
    }

    [Fact]
    public void Admit_script_code_2_means_already_handled()
    {
        var admission = Admission();
        var candidate = AssertCandidate(admission.Check(Good(qos: QualityOfService.ExactlyOnce), 1));

        var decision = admission.Decide(candidate, 2);

        Assert.Equal(AdmissionOutcome.AlreadyHandled, decision.Outcome);
        Assert.Same(candidate, decision.Candidate);
        Assert.Null(decision.Message);
    }

    [Fact]
    public void Admit_script_code_1_hands_the_verified_message_to_the_handler()
    {
        var admission = Admission();
        var id = Guid.CreateVersion7().ToString();
        var ts = NowMs - 1_000;
        var meta = new Dictionary<string, string> { ["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" };
        var message = Message() with { CorrelationId = "conv-1", Meta = meta };
        var entry = Entry(NowMs, Signed(message, id, ts, [_k1]));
        var candidate = AssertCandidate(admission.Check(entry, 2));

        var decision = admission.Decide(candidate, 1);

        Assert.Equal(AdmissionOutcome.Handle, decision.Outcome);
        var handled = Assert.IsType<BusMessage>(decision.Message);
        Assert.Equal(id, handled.Id);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(ts), handled.Timestamp);
        Assert.Equal(MessageType.Task, handled.Type);
        Assert.Equal(QualityOfService.AtLeastOnce, handled.Qos);
        Assert.Equal(Topic, handled.Topic);
        Assert.Equal("svc", handled.From);
        Assert.Equal(["worker"], handled.To);
        Assert.Equal("conv-1", handled.CorrelationId);
        Assert.Null(handled.ReplyTo); // empty on the wire
        Assert.Equal(message.Payload.ToArray(), handled.Payload.ToArray());
        Assert.Equal(meta["traceparent"], handled.Meta["traceparent"]);
        Assert.Equal("k1", handled.KeyId);
        Assert.Equal(2, handled.DeliveryCount);
        Assert.Equal(entry.Id.ToString(), handled.EntryId);
    }
}
