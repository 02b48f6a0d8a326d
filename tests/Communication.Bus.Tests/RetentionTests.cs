using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;
using TestSupport;

namespace Communication.Bus.Tests;

/// <summary>Issue 8: trimming never removes an entry a consumer group has not acknowledged.</summary>
[Trait("Category", "Cluster")]
public sealed class RetentionTests(RedisFixture redis)
{
    private static CommunicationBusSettings FastTrim(long cap = 1_000_000)
    {
        var settings = TestBus.Settings();
        settings.TrimInterval = TimeSpan.FromMilliseconds(50);
        settings.StreamMaxLength = cap;
        return settings;
    }

    [Fact]
    public async Task A_lagging_group_with_more_entries_than_the_old_cap_loses_nothing()
    {
        var topic = TestTopics.New("lag");
        var key = BusProtocol.StreamKey(topic);
        await redis.Db.StreamCreateConsumerGroupAsync(key, "lagging", "0", createStream: true);

        // More entries than the old approximate MAXLEN (100 000) that every publish applied.
        const int backlog = 100_500;
        for (var start = 0; start < backlog; start += 10_000)
        {
            await Task.WhenAll(Enumerable.Range(start, Math.Min(10_000, backlog - start))
                .Select(i => redis.Db.StreamAddAsync(key, "n", i)));
        }

        var first = (await redis.Db.StreamRangeAsync(key, "-", "+", 1))[0].Id;
        await using var bus = await TestBus.CreateAsync(redis, FastTrim());
        using var trimmed = bus.Counter(CommunicationBusTelemetry.TrimmedCounter);
        using var dropped = bus.Counter(CommunicationBusTelemetry.DroppedCounter);
        await bus.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Event, topic, "latest"));
        await bus.Bus.Maintenance.RunOnceAsync();

        Assert.Equal(backlog + 1, await redis.Db.StreamLengthAsync(key));
        Assert.Equal(first, (await redis.Db.StreamRangeAsync(key, "-", "+", 1))[0].Id);

        // The group catches up on half of it: what it acknowledged goes, the rest stays.
        var read = await redis.Db.StreamReadGroupAsync(key, "lagging", "c1", ">", 50_000);
        var pendingFrom = read[40_000].Id;
        await redis.Db.StreamAcknowledgeAsync(key, "lagging", [.. read[..40_000].Select(e => e.Id)]);
        var length = await Eventually.ValueAsync(() => redis.Db.StreamLengthAsync(key), l => l <= backlog + 1 - 39_000);
        await bus.Bus.Maintenance.RunOnceAsync();
        Assert.InRange(await redis.Db.StreamLengthAsync(key), backlog + 1 - 40_000, length); // approximate: a partial node stays
        Assert.InRange(trimmed.GetMeasurementSnapshot().Sum(m => m.Value), 39_000, 40_000);
        Assert.Single(await redis.Db.StreamRangeAsync(key, pendingFrom, pendingFrom));
        Assert.Equal(10_000, (await redis.Db.StreamPendingAsync(key, "lagging")).PendingMessageCount);
        Assert.Empty(dropped.GetMeasurementSnapshot());
        Assert.Equal(HealthStatus.Healthy, (await bus.Bus.CheckHealthAsync()).Status);
    }

    [Fact]
    public async Task Entries_every_group_acknowledged_are_trimmed_and_a_stream_without_groups_stays_near_the_cap()
    {
        var consumed = TestTopics.New("ack");
        var orphan = TestTopics.New("orphan");
        await using var bus = await TestBus.CreateAsync(redis, FastTrim(cap: 100));
        using var dropped = bus.Counter(CommunicationBusTelemetry.DroppedCounter);
        var recorder = new Recorder();
        await using var subscription = await bus.Bus.SubscribeAsync(consumed, recorder.Handle);
        for (var i = 0; i < 300; i++)
        {
            await bus.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Event, consumed, i));
            await bus.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Event, orphan, i));
        }

        await Eventually.TrueAsync(() => recorder.Count == 300);
        await Eventually.TrueAsync(async () => await redis.Db.StreamLengthAsync(BusProtocol.StreamKey(consumed)) < 150);
        await Eventually.TrueAsync(async () => await redis.Db.StreamLengthAsync(BusProtocol.StreamKey(orphan)) < 200);
        Assert.Empty(dropped.GetMeasurementSnapshot());
    }

    [Fact]
    public async Task The_safety_cap_drops_only_when_a_group_lags_past_it_and_counts_logs_and_degrades_health()
    {
        var topic = TestTopics.New("cap");
        var key = BusProtocol.StreamKey(topic);
        await redis.Db.StreamCreateConsumerGroupAsync(key, "lagging", "0", createStream: true);
        await using var bus = await TestBus.CreateAsync(redis, FastTrim(cap: 100));
        using var dropped = bus.Counter(CommunicationBusTelemetry.DroppedCounter);
        for (var i = 0; i < 150; i++)
        {
            await bus.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Event, topic, i));
        }

        await Eventually.TrueAsync(() => dropped.GetMeasurementSnapshot().Sum(m => m.Value) == 50);
        Assert.Equal(100, await redis.Db.StreamLengthAsync(key));
        var measurement = dropped.GetMeasurementSnapshot()[0];
        Assert.Equal(topic, measurement.Tags["messaging.destination.name"]);
        Assert.Equal("topic", measurement.Tags["bus.stream.kind"]);
        var health = await bus.Bus.CheckHealthAsync();
        Assert.Equal(HealthStatus.Degraded, health.Status);
        Assert.Contains("safety cap", health.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dead_letter_streams_are_not_trimmed_on_append_and_their_cap_counts()
    {
        var topic = TestTopics.New("dlqcap");
        var settings = FastTrim();
        settings.DeadLetterMaxLength = 5;
        await using var bus = await TestBus.CreateAsync(redis, settings);
        using var dropped = bus.Counter(CommunicationBusTelemetry.DroppedCounter);
        await using var subscription = await bus.Bus.SubscribeAsync(topic, (_, _) => Task.CompletedTask);
        for (var i = 0; i < 8; i++)
        {
            await redis.Db.StreamAddAsync(BusProtocol.StreamKey(topic), "garbage", i); // rejected as invalid
        }

        await Eventually.TrueAsync(() => dropped.GetMeasurementSnapshot().Sum(m => m.Value) == 3);
        Assert.Equal(5, await bus.Bus.DeadLetters.CountAsync(topic));
        Assert.Equal("dead-letter", dropped.GetMeasurementSnapshot()[0].Tags["bus.stream.kind"]);
    }
}
