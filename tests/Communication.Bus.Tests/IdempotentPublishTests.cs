using StackExchange.Redis;
using TestSupport;

namespace Communication.Bus.Tests;

/// <summary>Publishing with a caller-chosen id is idempotent: a resend never becomes a second entry.</summary>
[Trait("Category", "Cluster")]
public class IdempotentPublishTests(RedisFixture redis)
{
    [Fact]
    public async Task Publishing_the_same_caller_chosen_id_twice_adds_one_entry_and_returns_it_both_times()
    {
        var topic = TestTopics.New();
        await using var bus = await TestBus.CreateAsync(redis);
        var id = Guid.NewGuid().ToString();
        var message = OutgoingMessage.Create(MessageType.Task, topic, new Work("once", 1), qos: QualityOfService.ExactlyOnce) with { Id = id };

        var first = await bus.Bus.PublishAsync(message);
        var second = await bus.Bus.PublishAsync(message);

        Assert.Equal(first.EntryId, second.EntryId);
        Assert.Equal(1, await redis.Db.StreamLengthAsync(BusProtocol.StreamKey(topic)));
    }

    [Fact]
    public async Task A_resent_message_is_handled_once_and_nothing_is_dead_lettered()
    {
        var topic = TestTopics.New();
        await using var bus = await TestBus.CreateAsync(redis);
        var recorder = new Recorder();
        await using var subscription = await bus.Bus.SubscribeAsync(topic, recorder.Handle);
        var message = OutgoingMessage.Create(MessageType.Task, topic, new Work("resend", 2)) with { Id = Guid.NewGuid().ToString() };

        await bus.Bus.PublishAsync(message);
        await Eventually.TrueAsync(() => recorder.Count == 1);
        await bus.Bus.PublishAsync(message);
        var marker = await bus.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Event, topic, new Work("after", 3)));
        await Eventually.TrueAsync(() => recorder.Messages.Any(m => m.Id == marker.MessageId));

        Assert.Equal(2, recorder.Count);
        Assert.Equal(0, await redis.Db.StreamLengthAsync(BusProtocol.DeadLetterStreamKey(topic)));
    }

    [Fact]
    public async Task Messages_without_a_caller_chosen_id_are_never_deduplicated()
    {
        var topic = TestTopics.New();
        await using var bus = await TestBus.CreateAsync(redis);
        var message = OutgoingMessage.Create(MessageType.Event, topic, new Work("twice", 4));

        await bus.Bus.PublishAsync(message);
        await bus.Bus.PublishAsync(message);

        Assert.Equal(2, await redis.Db.StreamLengthAsync(BusProtocol.StreamKey(topic)));
    }
}
