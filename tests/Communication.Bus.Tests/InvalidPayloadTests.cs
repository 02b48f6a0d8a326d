using StackExchange.Redis;
using TestSupport;

namespace Communication.Bus.Tests;

/// <summary>Issue 9: a handler can reject a message as permanently invalid.</summary>
[Trait("Category", "Cluster")]
public sealed class InvalidPayloadTests(RedisFixture redis)
{
    [Fact]
    public async Task A_rejected_payload_is_dead_lettered_on_its_first_delivery_without_retries_or_opening_the_breaker()
    {
        var topic = TestTopics.New("poison");
        await using var bus = await TestBus.CreateAsync(redis);
        using var retried = bus.Counter(CommunicationBusTelemetry.RetriedCounter);
        using var rejected = bus.Counter(CommunicationBusTelemetry.RejectedCounter);
        var calls = 0;
        var options = bus.Bus.DefaultOptions() with { HandlerRetries = 3, MaxDeliveries = 5, CircuitBreakerMinimumThroughput = 2 };
        await using var subscription = await bus.Bus.SubscribeAsync(topic, (_, _) =>
        {
            Interlocked.Increment(ref calls);
            throw new InvalidPayloadException("'[]' is not a task result");
        }, options);

        for (var i = 0; i < 12; i++)
        {
            await bus.Bus.PublishAsync(OutgoingMessage.Create(MessageType.TaskResult, topic, Array.Empty<int>()));
        }

        await Eventually.TrueAsync(async () => await bus.Bus.DeadLetters.CountAsync(topic) == 12);
        var letters = await bus.Bus.DeadLetters.ListAsync(topic);
        Assert.All(letters, l =>
        {
            Assert.Equal(RejectionReasons.InvalidPayload, l.Reason);
            Assert.Equal(1, l.DeliveryCount);
            Assert.Contains("not a task result", l.Detail, StringComparison.Ordinal);
        });
        Assert.Equal(12, calls);
        Assert.Empty(retried.GetMeasurementSnapshot());
        Assert.Equal(12, rejected.GetMeasurementSnapshot().Where(m => (string?)m.Tags["bus.reason"] == "invalid-payload").Sum(m => m.Value));
        Assert.False(((RedisSubscription)subscription).IsCircuitOpen);
        Assert.Equal(0, (await redis.Db.StreamPendingAsync(BusProtocol.StreamKey(topic), "svc")).PendingMessageCount);
    }
}
