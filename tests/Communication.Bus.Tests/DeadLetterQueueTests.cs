using System.Text.Json;
using StackExchange.Redis;
using TestSupport;

namespace Communication.Bus.Tests;

[Trait("Category", "Cluster")]
public class DeadLetterQueueTests(RedisFixture redis)
{
    [Fact]
    public async Task Dead_letters_can_be_listed_with_paging_and_rendered_as_json()
    {
        var topic = TestTopics.New();
        await using var bus = await TestBus.CreateAsync(redis);
        await using var subscription = await bus.Bus.SubscribeAsync(topic, (_, _) => Task.CompletedTask);
        for (var i = 0; i < 5; i++)
        {
            await redis.Db.StreamAddAsync(BusProtocol.StreamKey(topic), [new("v", "1"), new("id", $"bad-{i}"), new("payload", "{\"i\":" + i + "}")]);
        }

        await Eventually.TrueAsync(async () => await bus.Bus.DeadLetters.CountAsync(topic) == 5);
        var first = await bus.Bus.DeadLetters.ListAsync(topic, count: 3);
        var rest = await bus.Bus.DeadLetters.ListAsync(topic, count: 3, after: first[^1].EntryId);

        Assert.Equal(3, first.Count);
        Assert.Equal(2, rest.Count);
        Assert.Equal(["bad-0", "bad-1", "bad-2", "bad-3", "bad-4"], first.Concat(rest).Select(d => d.MessageId));
        using var json = JsonDocument.Parse(first[0].ToJson());
        Assert.Equal("invalid", json.RootElement.GetProperty("reason").GetString());
        Assert.Equal(0, json.RootElement.GetProperty("envelope").GetProperty("payload").GetProperty("i").GetInt32());
        Assert.Contains("id: 'bad-0' is not a UUID", json.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Topics_with_dead_letters_are_listed_and_topics_without_are_not()
    {
        var withLetters = TestTopics.New();
        var clean = TestTopics.New();
        await using var bus = await TestBus.CreateAsync(redis);
        await using var s1 = await bus.Bus.SubscribeAsync(withLetters, (_, _) => Task.CompletedTask);
        await using var s2 = await bus.Bus.SubscribeAsync(clean, (_, _) => Task.CompletedTask);
        await redis.Db.StreamAddAsync(BusProtocol.StreamKey(withLetters), [new("v", "1"), new("id", "not-a-uuid")]);
        await bus.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Task, clean, 1));
        await Eventually.TrueAsync(async () => await bus.Bus.DeadLetters.CountAsync(withLetters) == 1);

        var topics = await bus.Bus.DeadLetters.ListTopicsAsync();

        Assert.Contains(withLetters, topics);
        Assert.DoesNotContain(clean, topics);
        Assert.Equal(topics.Order(StringComparer.Ordinal), topics);
    }

    [Fact]
    public async Task A_dead_letter_replayed_after_the_fix_is_handled_once_by_its_group_only()
    {
        var topic = TestTopics.New();
        await using var bus = await TestBus.CreateAsync(redis, TestBus.Settings("fragile"));
        await using var other = await TestBus.CreateAsync(redis, TestBus.Settings("other"));
        var broken = true;
        var handled = new Recorder();
        var otherHandled = new Recorder();
        await using var s1 = await bus.Bus.SubscribeAsync(topic, (m, ct) => broken ? throw new InvalidOperationException("bug") : handled.Handle(m, ct),
            bus.Bus.DefaultOptions() with { MaxDeliveries = 1 });
        await using var s2 = await other.Bus.SubscribeAsync(topic, otherHandled.Handle);

        var receipt = await bus.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Task, topic, new Work("w", 1)));
        await Eventually.TrueAsync(async () => await bus.Bus.DeadLetters.CountAsync(topic) == 1 && otherHandled.Count == 1);
        var letter = (await bus.Bus.DeadLetters.ListAsync(topic))[0];
        Assert.Equal(RejectionReasons.MaxDeliveries, letter.Reason);

        broken = false;
        var newEntry = await bus.Bus.DeadLetters.ReplayAsync(topic, letter.EntryId);

        await Eventually.TrueAsync(() => handled.Count == 1);
        Assert.Equal(receipt.MessageId, handled.Messages[0].Id);
        Assert.Equal(newEntry, handled.Messages[0].EntryId);
        await Eventually.TrueAsync(async () => (await redis.Db.StreamPendingAsync(BusProtocol.StreamKey(topic), "other")).PendingMessageCount == 0
            && (await redis.Db.StreamGroupInfoAsync(BusProtocol.StreamKey(topic))).All(g => g.LastDeliveredId == newEntry));
        Assert.Equal(1, otherHandled.Count);
        Assert.Equal(0, await bus.Bus.DeadLetters.CountAsync(topic));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => bus.Bus.DeadLetters.ReplayAsync(topic, letter.EntryId));
    }

    [Fact]
    public async Task Replaying_a_forged_message_does_not_launder_it()
    {
        var topic = TestTopics.New();
        await using var bus = await TestBus.CreateAsync(redis);
        await using var forger = await TestBus.CreateAsync(redis, TestBus.Settings("forger", TestBus.Key("k1", "a-guessed-secret-that-is-long-enough-000")));
        var handled = new Recorder();
        await using var subscription = await bus.Bus.SubscribeAsync(topic, handled.Handle);

        await forger.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Task, topic, 1));
        await Eventually.TrueAsync(async () => await bus.Bus.DeadLetters.CountAsync(topic) == 1);
        var original = (await bus.Bus.DeadLetters.ListAsync(topic))[0];
        await bus.Bus.DeadLetters.ReplayAsync(topic, original.EntryId);

        await Eventually.TrueAsync(async () => await bus.Bus.DeadLetters.ListAsync(topic) is [var again] && again.EntryId != original.EntryId);
        var letter = (await bus.Bus.DeadLetters.ListAsync(topic)).Single();
        Assert.Equal(RejectionReasons.BadSignature, letter.Reason);
        Assert.Equal(original.MessageId, letter.MessageId);
        Assert.Equal(0, handled.Count);
    }
}
