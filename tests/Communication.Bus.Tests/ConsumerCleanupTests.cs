using Microsoft.Extensions.Options;
using StackExchange.Redis;
using TestSupport;

namespace Communication.Bus.Tests;

/// <summary>Issue 8: consumers of crashed or scaled-in replicas (names are per process) are removed.</summary>
[Trait("Category", "Cluster")]
public sealed class ConsumerCleanupTests(RedisFixture redis)
{
    [Fact]
    public async Task Idle_consumers_are_removed_once_their_pending_entries_were_claimed_and_live_ones_stay()
    {
        var topic = TestTopics.New("ghost");
        var key = BusProtocol.StreamKey(topic);
        var settings = TestBus.Settings();
        settings.TrimInterval = TimeSpan.FromMilliseconds(50);
        settings.DeadConsumerIdleTime = TimeSpan.FromSeconds(1);
        await using var bus = await TestBus.CreateAsync(redis, settings);
        await redis.Db.StreamCreateConsumerGroupAsync(key, "svc", "$", createStream: true);

        // Two replicas that died: one idle with nothing pending, one holding an unacknowledged entry.
        await redis.Db.StreamReadGroupAsync(key, "svc", "host-1-1-1", ">", 1);
        var receipt = await bus.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Task, topic, 42));
        Assert.Single(await redis.Db.StreamReadGroupAsync(key, "svc", "host-2-2-1", ">", 1));

        var recorder = new Recorder();
        await using var subscription = await bus.Bus.SubscribeAsync(topic, recorder.Handle);

        await Eventually.TrueAsync(() => recorder.Messages.Any(m => m.Id == receipt.MessageId), because: "the dead consumer's entry is reclaimed");
        var names = await Eventually.ValueAsync(
            async () => (await redis.Db.StreamConsumerInfoAsync(key, "svc")).Select(c => c.Name.ToString()).Order().ToArray(),
            n => n.Length == 1);
        Assert.Equal([bus.Bus.ConsumerName], names);
    }

    [Fact]
    public void The_idle_time_is_validated_against_the_claim_idle_time()
    {
        var settings = TestBus.Settings();
        settings.DeadConsumerIdleTime = TimeSpan.FromMilliseconds(200);
        var result = new CommunicationBusSettingsValidator().Validate(null, settings);
        Assert.True(result.Failed);
        Assert.Contains("Bus:DeadConsumerIdleTime", result.FailureMessage, StringComparison.Ordinal);
    }
}
