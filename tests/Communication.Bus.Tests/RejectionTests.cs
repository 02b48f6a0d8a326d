using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using TestSupport;

namespace Communication.Bus.Tests;

/// <summary>Forged, tampered, expired, stale, replayed, unknown-key, unsigned and invalid entries never reach a handler.</summary>
[Trait("Category", "Cluster")]
public class RejectionTests(RedisFixture redis)
{
    private static OutgoingMessage Message(string topic, int n = 1) =>
        OutgoingMessage.Create(MessageType.Task, topic, new Work("job", n), to: ["worker"]);

    private static NameValueEntry[] Copy(StreamEntry entry, string? field = null, string? value = null) =>
        [.. entry.Values.Select(v => v.Name == field ? new NameValueEntry(v.Name, value) : v)];

    [Fact]
    public async Task Every_kind_of_bad_entry_is_dead_lettered_with_its_reason_and_none_reaches_the_handler()
    {
        var topic = TestTopics.New();
        var now = DateTimeOffset.UtcNow;
        var consumerClock = new FakeTimeProvider(now);
        var consumerSettings = TestBus.Settings("consumer",
            TestBus.Key("k1", TestBus.Secret1),
            TestBus.Key("old", TestBus.Secret2, "verify-only", expiresAt: now.AddMinutes(-1)));
        await using var consumer = await TestBus.CreateAsync(redis, consumerSettings, consumerClock);
        using var rejected = consumer.Counter(CommunicationBusTelemetry.RejectedCounter);
        await using var publisher = await TestBus.CreateAsync(redis, TestBus.Settings("publisher"));
        await using var forger = await TestBus.CreateAsync(redis, TestBus.Settings("forger", TestBus.Key("k1", "a-guessed-secret-that-is-long-enough-000")));
        await using var stranger = await TestBus.CreateAsync(redis, TestBus.Settings("stranger", TestBus.Key("k9", TestBus.Secret1)));
        await using var expiredSigner = await TestBus.CreateAsync(redis, TestBus.Settings("old-signer", TestBus.Key("old", TestBus.Secret2)));
        await using var stalePublisher = await TestBus.CreateAsync(redis, TestBus.Settings("stale"), new FakeTimeProvider(now.AddMinutes(-6)));

        var recorder = new Recorder();
        await using var subscription = await consumer.Bus.SubscribeAsync(topic, recorder.Handle);
        var stream = BusProtocol.StreamKey(topic);

        // The one good message.
        var good = await publisher.Bus.PublishAsync(Message(topic));
        await Eventually.TrueAsync(() => recorder.Count == 1);
        var goodEntry = (await redis.Db.StreamRangeAsync(stream, good.EntryId, good.EntryId))[0];

        var expected = new Dictionary<string, string>();
        expected[(await forger.Bus.PublishAsync(Message(topic, 2))).EntryId] = RejectionReasons.BadSignature;
        expected[(string)(await redis.Db.StreamAddAsync(stream, Copy(goodEntry, "payload", """{"name":"job","n":1000}""")))!] = RejectionReasons.BadSignature;
        expected[(string)(await redis.Db.StreamAddAsync(stream, Copy(goodEntry, "to", """["admin"]""")))!] = RejectionReasons.BadSignature;
        expected[(await stranger.Bus.PublishAsync(Message(topic, 3))).EntryId] = RejectionReasons.UnknownKey;
        expected[(await expiredSigner.Bus.PublishAsync(Message(topic, 4))).EntryId] = RejectionReasons.ExpiredKey;
        expected[(await stalePublisher.Bus.PublishAsync(Message(topic, 5))).EntryId] = RejectionReasons.StaleTimestamp;
        expected[(string)(await redis.Db.StreamAddAsync(stream, Copy(goodEntry)))!] = RejectionReasons.Replayed;
        expected[(string)(await redis.Db.StreamAddAsync(stream, [.. goodEntry.Values.Where(v => v.Name != "sig" && v.Name != "keyId")]))!] = RejectionReasons.Unsigned;
        expected[(string)(await redis.Db.StreamAddAsync(stream, Copy(goodEntry, "id", "not-a-uuid")))!] = RejectionReasons.Invalid;

        await Eventually.TrueAsync(async () => await consumer.Bus.DeadLetters.CountAsync(topic) >= expected.Count, TimeSpan.FromSeconds(30));
        var letters = await consumer.Bus.DeadLetters.ListAsync(topic);

        Assert.Equal(expected.Count, letters.Count);
        foreach (var letter in letters)
        {
            Assert.True(expected.TryGetValue(letter.OriginalEntryId, out var reason), $"unexpected dead letter {letter.ToJson()}");
            Assert.Equal(reason, letter.Reason);
            Assert.Equal("consumer", letter.Group);
        }

        Assert.Contains(letters, l => l.Reason == RejectionReasons.Invalid && l.Detail.Contains("id: 'not-a-uuid' is not a UUID", StringComparison.Ordinal));
        Assert.Equal(1, recorder.Count);
        Assert.Equal(good.MessageId, recorder.Messages[0].Id);
        var counts = rejected.GetMeasurementSnapshot().GroupBy(m => (string)m.Tags["bus.reason"]!).ToDictionary(g => g.Key, g => g.Sum(m => m.Value));
        Assert.Equal(expected.Values.GroupBy(r => r).ToDictionary(g => g.Key, g => (long)g.Count()), counts);
        Assert.Equal(0, (await redis.Db.StreamPendingAsync(stream, "consumer")).PendingMessageCount);
    }

    [Theory]
    [InlineData(4, true)]
    [InlineData(-4, true)]
    [InlineData(6, false)]
    [InlineData(-6, false)]
    public async Task The_timestamp_tolerance_is_five_minutes_either_way(int publisherMinutesAhead, bool accepted)
    {
        // Redis (which stamps the entry id) and the consumer agree on the time; the publisher's clock is off.
        var topic = TestTopics.New();
        var now = DateTimeOffset.UtcNow;
        await using var publisher = await TestBus.CreateAsync(redis, TestBus.Settings("p"), new FakeTimeProvider(now.AddMinutes(publisherMinutesAhead)));
        await using var consumer = await TestBus.CreateAsync(redis, TestBus.Settings("c"), new FakeTimeProvider(now));
        var recorder = new Recorder();
        await using var subscription = await consumer.Bus.SubscribeAsync(topic, recorder.Handle);

        await publisher.Bus.PublishAsync(Message(topic));

        await Eventually.TrueAsync(async () => recorder.Count + await consumer.Bus.DeadLetters.CountAsync(topic) == 1);
        Assert.Equal(accepted ? 1 : 0, recorder.Count);
        if (!accepted)
        {
            var letter = Assert.Single(await consumer.Bus.DeadLetters.ListAsync(topic));
            Assert.Equal(RejectionReasons.StaleTimestamp, letter.Reason);
        }
    }

    [Theory]
    [InlineData(6)]
    [InlineData(60)]
    [InlineData(23 * 60)]
    public async Task A_backlog_that_waited_longer_than_the_tolerance_for_a_stopped_group_is_still_delivered(int minutesLater)
    {
        // The messages were published on time (Redis added them when they were signed); the group's consumers were
        // stopped and come back minutesLater. A copy of one of them re-added by someone with access to Redis at that
        // later time carries a new entry id: it is not fresh and is caught as a replay.
        var topic = TestTopics.New();
        var now = DateTimeOffset.UtcNow;
        await using var publisher = await TestBus.CreateAsync(redis, TestBus.Settings("p"), new FakeTimeProvider(now));
        await using var consumer = await TestBus.CreateAsync(redis, TestBus.Settings("c"), new FakeTimeProvider(now.AddMinutes(minutesLater)));
        await (await consumer.Bus.SubscribeAsync(topic, (_, _) => Task.CompletedTask)).DisposeAsync();
        var stream = BusProtocol.StreamKey(topic);
        var first = await publisher.Bus.PublishAsync(Message(topic, 1));
        await publisher.Bus.PublishAsync(Message(topic, 2));
        var original = (await redis.Db.StreamRangeAsync(stream, first.EntryId, first.EntryId))[0];
        var copyId = (string)(await redis.Db.StreamAddAsync(stream, Copy(original), messageId: $"{now.AddMinutes(minutesLater).ToUnixTimeMilliseconds()}-0"))!;

        var recorder = new Recorder();
        await using var subscription = await consumer.Bus.SubscribeAsync(topic, recorder.Handle);

        await Eventually.TrueAsync(async () => recorder.Count + await consumer.Bus.DeadLetters.CountAsync(topic) == 3);
        Assert.Equal([1, 2], recorder.Messages.Select(m => m.GetPayload<Work>()!.N).Order());
        var letter = Assert.Single(await consumer.Bus.DeadLetters.ListAsync(topic));
        Assert.Equal(copyId, letter.OriginalEntryId);
        Assert.Equal(RejectionReasons.Replayed, letter.Reason);
    }

    [Fact]
    public async Task A_backlog_older_than_MaxBacklogAge_is_dead_lettered_as_stale()
    {
        var topic = TestTopics.New();
        var now = DateTimeOffset.UtcNow;
        var settings = TestBus.Settings("c");
        settings.Signing.MaxBacklogAge = TimeSpan.FromMinutes(30);
        await using var publisher = await TestBus.CreateAsync(redis, TestBus.Settings("p"), new FakeTimeProvider(now));
        await using var consumer = await TestBus.CreateAsync(redis, settings, new FakeTimeProvider(now.AddMinutes(31)));
        await (await consumer.Bus.SubscribeAsync(topic, (_, _) => Task.CompletedTask)).DisposeAsync();
        await publisher.Bus.PublishAsync(Message(topic));

        var recorder = new Recorder();
        await using var subscription = await consumer.Bus.SubscribeAsync(topic, recorder.Handle);

        await Eventually.TrueAsync(async () => await consumer.Bus.DeadLetters.CountAsync(topic) == 1);
        var letter = Assert.Single(await consumer.Bus.DeadLetters.ListAsync(topic));
        Assert.Equal(RejectionReasons.StaleTimestamp, letter.Reason);
        Assert.Contains("the maximum backlog age 00:30:00", letter.Detail, StringComparison.Ordinal);
        Assert.Equal(0, recorder.Count);
    }

    [Fact]
    public async Task The_timestamp_tolerance_is_configurable()
    {
        var topic = TestTopics.New();
        var now = DateTimeOffset.UtcNow;
        var settings = TestBus.Settings("c");
        settings.Signing.TimestampTolerance = TimeSpan.FromMinutes(1);
        var publisherClock = new FakeTimeProvider(now.AddSeconds(-90));
        await using var publisher = await TestBus.CreateAsync(redis, TestBus.Settings("p"), publisherClock);
        await using var consumer = await TestBus.CreateAsync(redis, settings, new FakeTimeProvider(now));
        var recorder = new Recorder();
        await using var subscription = await consumer.Bus.SubscribeAsync(topic, recorder.Handle);

        await publisher.Bus.PublishAsync(Message(topic));
        await Eventually.TrueAsync(async () => await consumer.Bus.DeadLetters.CountAsync(topic) == 1);
        publisherClock.Advance(TimeSpan.FromSeconds(40));
        await publisher.Bus.PublishAsync(Message(topic, 2));
        await Eventually.TrueAsync(() => recorder.Count == 1);

        Assert.Equal(RejectionReasons.StaleTimestamp, (await consumer.Bus.DeadLetters.ListAsync(topic))[0].Reason);
        Assert.Equal(2, recorder.Messages[0].GetPayload<Work>()!.N);
    }

    [Fact]
    public async Task Publishing_an_invalid_message_throws_with_field_errors_and_writes_nothing()
    {
        var topic = TestTopics.New();
        await using var bus = await TestBus.CreateAsync(redis);
        var bad = new OutgoingMessage(MessageType.Task, topic, "{\"a\":"u8.ToArray())
        {
            To = ["ok", "a,b"],
            CorrelationId = "x\ny",
            Id = "nope",
            Meta = new Dictionary<string, string> { [""] = "v" },
        };

        var ex = await Assert.ThrowsAsync<EnvelopeValidationException>(() => bus.Bus.PublishAsync(bad));

        Assert.Contains(ex.Errors, e => e.Field == "id");
        Assert.Contains(ex.Errors, e => e.Field == "to[1]" && e.Message.Contains(',', StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Field == "correlationId");
        Assert.Contains(ex.Errors, e => e.Field == "meta");
        Assert.Contains(ex.Errors, e => e.Field == "payload");
        await Assert.ThrowsAsync<EnvelopeValidationException>(() => bus.Bus.PublishAsync(Message("bad topic")));
        Assert.Equal(0, await redis.Db.StreamLengthAsync(BusProtocol.StreamKey(topic)));
    }
}
