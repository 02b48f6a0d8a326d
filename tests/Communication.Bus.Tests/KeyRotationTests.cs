using Microsoft.Extensions.Time.Testing;
using TestSupport;

namespace Communication.Bus.Tests;

/// <summary>Key ring behaviour: multi-signatures, rotation in any order, deprecated / removed / expired keys.</summary>
[Trait("Category", "Cluster")]
public class KeyRotationTests(RedisFixture redis)
{
    private const string OldSecret = TestBus.Secret1;
    private const string NewSecret = TestBus.Secret2;

    /// <summary>The documented rotation steps (PROTOCOL.md §5): each step is rolled out before the next starts.</summary>
    private static readonly SigningKeySettings[][] Steps =
    [
        [TestBus.Key("old", OldSecret)],
        [TestBus.Key("old", OldSecret), TestBus.Key("new", NewSecret)],
        [TestBus.Key("old", OldSecret, "verify-only"), TestBus.Key("new", NewSecret)],
        [TestBus.Key("new", NewSecret)],
    ];

    [Fact]
    public async Task Publishers_and_consumers_can_roll_each_rotation_step_in_any_order_with_zero_rejections()
    {
        // During the roll of step i -> i+1 any replica may be on either side: check all four publisher/consumer pairs.
        var checkedPairs = 0;
        for (var step = 0; step + 1 < Steps.Length; step++)
        {
            foreach (var (pub, con) in new[] { (step, step), (step, step + 1), (step + 1, step), (step + 1, step + 1) })
            {
                var topic = TestTopics.New();
                await using var publisher = await TestBus.CreateAsync(redis, TestBus.Settings("publisher", Steps[pub]));
                await using var consumer = await TestBus.CreateAsync(redis, TestBus.Settings("consumer", Steps[con]));
                using var rejected = consumer.Counter(CommunicationBusTelemetry.RejectedCounter);
                var recorder = new Recorder();
                await using (await consumer.Bus.SubscribeAsync(topic, recorder.Handle))
                {
                    for (var i = 0; i < 3; i++)
                    {
                        await publisher.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Event, topic, new Work("w", i)));
                    }

                    await Eventually.TrueAsync(async () => recorder.Count + await consumer.Bus.DeadLetters.CountAsync(topic) == 3,
                        because: $"publisher on step {pub}, consumer on step {con}");
                }

                Assert.True(recorder.Count == 3, $"publisher on step {pub}, consumer on step {con}: {recorder.Count} of 3 handled");
                Assert.Empty(rejected.GetMeasurementSnapshot());
                checkedPairs++;
            }
        }

        Assert.Equal(12, checkedPairs);
    }

    [Fact]
    public async Task Skipping_a_step_is_what_breaks_and_the_test_would_see_it()
    {
        // Publisher already signing with the new key only (step 3) while a consumer is still on step 0.
        var topic = TestTopics.New();
        await using var publisher = await TestBus.CreateAsync(redis, TestBus.Settings("publisher", Steps[3]));
        await using var consumer = await TestBus.CreateAsync(redis, TestBus.Settings("consumer", Steps[0]));
        var recorder = new Recorder();
        await using var subscription = await consumer.Bus.SubscribeAsync(topic, recorder.Handle);

        await publisher.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Event, topic, new Work("w", 1)));

        await Eventually.TrueAsync(async () => await consumer.Bus.DeadLetters.CountAsync(topic) == 1);
        Assert.Equal(RejectionReasons.UnknownKey, (await consumer.Bus.DeadLetters.ListAsync(topic))[0].Reason);
        Assert.Equal(0, recorder.Count);
    }

    [Fact]
    public async Task During_rotation_a_message_carries_one_signature_per_active_key_and_verify_only_keys_never_sign()
    {
        var topic = TestTopics.New();
        await using var both = await TestBus.CreateAsync(redis, TestBus.Settings("both", Steps[1]));
        await using var deprecated = await TestBus.CreateAsync(redis, TestBus.Settings("deprecated", Steps[2]));

        var a = await both.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Event, topic, 1));
        var b = await deprecated.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Event, topic, 2));

        var sigA = (string)(await redis.Db.StreamRangeAsync(BusProtocol.StreamKey(topic), a.EntryId, a.EntryId))[0].Values.Single(v => v.Name == "sig").Value!;
        var sigB = (string)(await redis.Db.StreamRangeAsync(BusProtocol.StreamKey(topic), b.EntryId, b.EntryId))[0].Values.Single(v => v.Name == "sig").Value!;
        Assert.Equal(["old", "new"], sigA.Split(' ').Select(s => s.Split(':')[0]));
        Assert.Equal(["new"], sigB.Split(' ').Select(s => s.Split(':')[0]));
    }

    [Fact]
    public async Task A_deprecated_key_still_verifies()
    {
        var topic = TestTopics.New();
        await using var publisher = await TestBus.CreateAsync(redis, TestBus.Settings("publisher", Steps[0]));
        await using var consumer = await TestBus.CreateAsync(redis, TestBus.Settings("consumer", Steps[2]));
        var recorder = new Recorder();
        await using var subscription = await consumer.Bus.SubscribeAsync(topic, recorder.Handle);

        await publisher.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Event, topic, 1));

        await Eventually.TrueAsync(() => recorder.Count == 1);
        Assert.Equal("old", recorder.Messages[0].KeyId);
    }

    [Fact]
    public async Task A_removed_key_is_rejected_as_unknown_and_an_expired_key_as_expired()
    {
        var topic = TestTopics.New();
        var now = DateTimeOffset.UtcNow;
        var clock = new FakeTimeProvider(now);
        await using var publisher = await TestBus.CreateAsync(redis, TestBus.Settings("publisher", Steps[0]));
        await using var removed = await TestBus.CreateAsync(redis, TestBus.Settings("removed", Steps[3]));
        await using var expiring = await TestBus.CreateAsync(redis, TestBus.Settings("expiring",
            TestBus.Key("old", OldSecret, "verify-only", expiresAt: now.AddMinutes(1)), TestBus.Key("new", NewSecret)), clock);
        var removedRecorder = new Recorder();
        var expiringRecorder = new Recorder();
        await using var s1 = await removed.Bus.SubscribeAsync(topic, removedRecorder.Handle);
        await using var s2 = await expiring.Bus.SubscribeAsync(topic, expiringRecorder.Handle);

        await publisher.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Event, topic, 1));
        await Eventually.TrueAsync(() => expiringRecorder.Count == 1, because: "the key has not expired yet");
        clock.Advance(TimeSpan.FromMinutes(2));
        await publisher.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Event, topic, 2));

        await Eventually.TrueAsync(async () => await removed.Bus.DeadLetters.CountAsync(topic) == 3);
        var letters = await removed.Bus.DeadLetters.ListAsync(topic);
        Assert.Equal(2, letters.Count(l => l.Group == "removed" && l.Reason == RejectionReasons.UnknownKey));
        Assert.Single(letters, l => l.Group == "expiring" && l.Reason == RejectionReasons.ExpiredKey);
        Assert.Equal(0, removedRecorder.Count);
        Assert.Equal(1, expiringRecorder.Count);
    }

    [Fact]
    public void An_expired_active_key_stops_signing()
    {
        var now = DateTimeOffset.UtcNow;
        var ring = new SigningKeyRing([new SigningKey("a", OldSecret, expiresAt: now), new SigningKey("b", NewSecret)]);

        Assert.Equal(["a", "b"], ring.GetSigningKeys(now.AddSeconds(-1)).Select(k => k.Id));
        Assert.Equal(["b"], ring.GetSigningKeys(now).Select(k => k.Id));
    }
}
