using System.Text;
using StackExchange.Redis;
using TestSupport;

namespace Communication.Bus.Tests;

/// <summary>Streams, groups and the at-most-once / at-least-once / exactly-once guarantees on a real Redis.</summary>
[Trait("Category", "Cluster")]
public class DeliveryTests(RedisFixture redis)
{
    [Fact]
    public async Task A_published_message_arrives_verified_with_every_envelope_field()
    {
        var topic = TestTopics.New();
        await using var bus = await TestBus.CreateAsync(redis);
        var recorder = new Recorder();
        await using var subscription = await bus.Bus.SubscribeAsync(topic, recorder.Handle);

        var receipt = await bus.Bus.PublishAsync(OutgoingMessage.Create(MessageType.DebateProposal, topic, new Work("idea", 7), to: ["critic", "judge"]) with
        {
            CorrelationId = "debate-1",
            Meta = new Dictionary<string, string> { ["tenant"] = "acme" },
        });

        await Eventually.TrueAsync(() => recorder.Count == 1);
        var m = recorder.Messages[0];
        Assert.Equal(receipt.MessageId, m.Id);
        Assert.Equal(receipt.EntryId, m.EntryId);
        Assert.Equal(MessageType.DebateProposal, m.Type);
        Assert.Equal(QualityOfService.AtLeastOnce, m.Qos);
        Assert.Equal("svc", m.From);
        Assert.Equal(["critic", "judge"], m.To);
        Assert.Equal("debate-1", m.CorrelationId);
        Assert.Null(m.ReplyTo);
        Assert.Equal("acme", m.Meta["tenant"]);
        Assert.Equal("k1", m.KeyId);
        Assert.Equal(1, m.DeliveryCount);
        Assert.Equal(new Work("idea", 7), m.GetPayload<Work>());
        Assert.Equal(receipt.Timestamp, m.Timestamp);
        Assert.True(Guid.TryParseExact(m.Id, "D", out var id) && id.Version == 7);
        Assert.Contains("\"payload\":{\"name\":\"idea\",\"n\":7}", m.ToJson(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_entry_holds_the_envelope_as_flat_fields_in_the_topic_stream()
    {
        var topic = TestTopics.New();
        await using var bus = await TestBus.CreateAsync(redis);

        var receipt = await bus.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Task, topic, new Work("x", 1), to: ["w"]) with { ReplyTo = "replies" });

        var entry = (await redis.Db.StreamRangeAsync($"bus:{{{topic}}}", receipt.EntryId, receipt.EntryId)).Single();
        var fields = entry.Values.ToDictionary(v => (string)v.Name!, v => (string)v.Value!);
        Assert.Equal(
            ["v", "id", "ts", "type", "qos", "topic", "from", "to", "correlationId", "replyTo", "meta", "payload", "keyId", "sig"],
            fields.Keys);
        Assert.Equal("1", fields["v"]);
        Assert.Equal("TASK", fields["type"]);
        Assert.Equal("at-least-once", fields["qos"]);
        Assert.Equal("\"w\"", fields["to"]);
        Assert.Equal("", fields["correlationId"]);
        Assert.Equal("replies", fields["replyTo"]);
        Assert.Equal("""{"name":"x","n":1}""", fields["payload"]);
        Assert.StartsWith("k1:", fields["sig"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Groups_are_created_idempotently_and_each_group_gets_every_message_once()
    {
        var topic = TestTopics.New();
        await using var a1 = await TestBus.CreateAsync(redis, TestBus.Settings("svc-a"));
        await using var a2 = await TestBus.CreateAsync(redis, TestBus.Settings("svc-a"));
        await using var b = await TestBus.CreateAsync(redis, TestBus.Settings("svc-b"));
        var groupA = new Recorder();
        var groupB = new Recorder();
        await using var s1 = await a1.Bus.SubscribeAsync(topic, groupA.Handle);
        await using var s2 = await a2.Bus.SubscribeAsync(topic, groupA.Handle);
        await using var s3 = await b.Bus.SubscribeAsync(topic, groupB.Handle);

        for (var i = 0; i < 20; i++)
        {
            await a1.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Event, topic, new Work("e", i)));
        }

        await Eventually.TrueAsync(() => groupA.Count == 20 && groupB.Count == 20);
        var groups = await redis.Db.StreamGroupInfoAsync(BusProtocol.StreamKey(topic));
        Assert.Equal(["svc-a", "svc-b"], groups.Select(g => g.Name).Order());
        Assert.Equal(20, groupA.Messages.Select(m => m.Id).Distinct().Count());
        Assert.Equal(2, (await redis.Db.StreamConsumerInfoAsync(BusProtocol.StreamKey(topic), "svc-a")).Length);
    }

    [Fact]
    public async Task A_failing_handler_is_retried_with_backoff_in_process_then_acknowledged()
    {
        var topic = TestTopics.New();
        await using var bus = await TestBus.CreateAsync(redis);
        using var retried = bus.Counter(CommunicationBusTelemetry.RetriedCounter);
        var attempts = 0;
        var options = bus.Bus.DefaultOptions() with { HandlerRetries = 3 };
        await using var subscription = await bus.Bus.SubscribeAsync(topic, (_, _) =>
            ++attempts < 3 ? throw new InvalidOperationException("transient") : Task.CompletedTask, options);

        await bus.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Task, topic, 1));

        await Eventually.TrueAsync(async () => attempts == 3 && (await redis.Db.StreamPendingAsync(BusProtocol.StreamKey(topic), "svc")).PendingMessageCount == 0);
        Assert.Equal(2, retried.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal(0, await bus.Bus.DeadLetters.CountAsync(topic));
    }

    [Fact]
    public async Task After_max_deliveries_a_poison_message_moves_to_the_dead_letter_stream_with_the_reason()
    {
        var topic = TestTopics.New();
        await using var bus = await TestBus.CreateAsync(redis);
        using var deadLettered = bus.Counter(CommunicationBusTelemetry.DeadLetteredCounter);
        var deliveries = new List<int>();
        var options = bus.Bus.DefaultOptions() with { MaxDeliveries = 3 };
        await using var subscription = await bus.Bus.SubscribeAsync(topic, (m, _) =>
        {
            lock (deliveries)
            {
                deliveries.Add(m.DeliveryCount);
            }

            throw new FormatException("cannot parse this");
        }, options);

        var receipt = await bus.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Task, topic, 1));

        await Eventually.TrueAsync(async () => await bus.Bus.DeadLetters.CountAsync(topic) == 1, TimeSpan.FromSeconds(20));
        var letter = Assert.Single(await bus.Bus.DeadLetters.ListAsync(topic));
        Assert.Equal(RejectionReasons.MaxDeliveries, letter.Reason);
        Assert.Contains("System.FormatException: cannot parse this", letter.Detail, StringComparison.Ordinal);
        Assert.Equal(receipt.MessageId, letter.MessageId);
        Assert.Equal(receipt.EntryId, letter.OriginalEntryId);
        Assert.Equal(3, letter.DeliveryCount);
        Assert.Equal([1, 2, 3], deliveries);
        Assert.Equal(0, (await redis.Db.StreamPendingAsync(BusProtocol.StreamKey(topic), "svc")).PendingMessageCount);
        Assert.Equal(1, deadLettered.GetMeasurementSnapshot().Where(m => (string?)m.Tags["bus.reason"] == "max-deliveries").Sum(m => m.Value));
    }

    [Theory]
    [InlineData(QualityOfService.AtLeastOnce)]
    [InlineData(QualityOfService.ExactlyOnce)]
    public async Task A_consumer_killed_mid_handler_loses_nothing_another_consumer_processes_it_after_the_idle_time(QualityOfService qos)
    {
        var topic = TestTopics.New();
        await using var doomed = await TestBus.CreateAsync(redis);
        await using var survivor = await TestBus.CreateAsync(redis);
        var started = new TaskCompletionSource<BusMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        var neverCompletes = new TaskCompletionSource();
        var completed = new Recorder();
        await using var s1 = await doomed.Bus.SubscribeAsync(topic, async (m, _) =>
        {
            started.TrySetResult(m);
            await neverCompletes.Task; // "crashes" in the middle: never returns, never acks
            await completed.Handle(m, default);
        });

        var receipt = await survivor.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Task, topic, new Work("w", 1)) with { Qos = qos });
        var first = await started.Task.WaitAsync(TimeSpan.FromSeconds(15));
        doomed.Kill();
        await using var s2 = await survivor.Bus.SubscribeAsync(topic, completed.Handle);

        await Eventually.TrueAsync(() => completed.Count == 1, TimeSpan.FromSeconds(20));
        var second = completed.Messages[0];
        Assert.Equal(receipt.MessageId, second.Id);
        Assert.Equal(first.EntryId, second.EntryId);
        Assert.Equal(2, second.DeliveryCount);
        await Eventually.TrueAsync(async () => (await redis.Db.StreamPendingAsync(BusProtocol.StreamKey(topic), "svc")).PendingMessageCount == 0);
        Assert.Equal(0, await survivor.Bus.DeadLetters.CountAsync(topic));
    }

    [Theory]
    [InlineData(QualityOfService.ExactlyOnce, 1)]
    [InlineData(QualityOfService.AtLeastOnce, 2)]
    public async Task Under_exactly_once_a_redelivered_handled_message_is_not_handled_twice(QualityOfService qos, int expectedHandlings)
    {
        // Rewinding the group redelivers the same entries, exactly what a crash between "handler done" and XACK causes.
        var topic = TestTopics.New();
        await using var bus = await TestBus.CreateAsync(redis);
        var recorder = new Recorder();
        await using var subscription = await bus.Bus.SubscribeAsync(topic, recorder.Handle);
        await bus.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Task, topic, 1) with { Qos = qos });
        await Eventually.TrueAsync(async () => recorder.Count == 1 && (await redis.Db.StreamPendingAsync(BusProtocol.StreamKey(topic), "svc")).PendingMessageCount == 0);

        await redis.Db.StreamConsumerGroupSetPositionAsync(BusProtocol.StreamKey(topic), "svc", "0");

        await Eventually.TrueAsync(async () => (await redis.Db.StreamGroupInfoAsync(BusProtocol.StreamKey(topic)))[0].LastDeliveredId == recorder.Messages[0].EntryId
            && (await redis.Db.StreamPendingAsync(BusProtocol.StreamKey(topic), "svc")).PendingMessageCount == 0
            && recorder.Count == expectedHandlings);
        Assert.Equal(expectedHandlings, recorder.Count);
        Assert.Equal(0, await bus.Bus.DeadLetters.CountAsync(topic));
    }

    [Fact]
    public async Task At_most_once_acknowledges_before_handling_so_a_failure_is_not_redelivered()
    {
        var topic = TestTopics.New();
        await using var bus = await TestBus.CreateAsync(redis);
        var calls = 0;
        var pendingWhileHandling = new List<(QualityOfService, int)>();
        await using var subscription = await bus.Bus.SubscribeAsync(topic, async (m, _) =>
        {
            Interlocked.Increment(ref calls);
            var pending = await redis.Db.StreamPendingMessagesAsync(BusProtocol.StreamKey(topic), "svc", 10, RedisValue.Null, m.EntryId, m.EntryId);
            lock (pendingWhileHandling)
            {
                pendingWhileHandling.Add((m.Qos, pending.Length));
            }

            throw new InvalidOperationException("boom");
        });

        await bus.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Event, topic, 1) with { Qos = QualityOfService.AtMostOnce });
        await bus.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Event, topic, 2) with { Qos = QualityOfService.AtLeastOnce });

        // The at-least-once one is redelivered up to MaxDeliveries (3) and dead-lettered; the at-most-once one is gone.
        await Eventually.TrueAsync(async () => await bus.Bus.DeadLetters.CountAsync(topic) == 1, TimeSpan.FromSeconds(20));
        Assert.Equal(4, calls);
        Assert.Equal([(QualityOfService.AtMostOnce, 0)], pendingWhileHandling.Where(p => p.Item1 == QualityOfService.AtMostOnce));
        Assert.All(pendingWhileHandling.Where(p => p.Item1 == QualityOfService.AtLeastOnce), p => Assert.Equal(1, p.Item2));
        Assert.Equal("at-least-once", (await bus.Bus.DeadLetters.ListAsync(topic))[0].Fields.Single(f => f.Key == "qos").Value);
    }

    [Fact]
    public async Task Disposing_a_subscription_finishes_in_flight_handlers_and_acknowledges_them()
    {
        var topic = TestTopics.New();
        await using var bus = await TestBus.CreateAsync(redis);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finished = 0;
        var cancelled = false;
        var subscription = await bus.Bus.SubscribeAsync(topic, async (_, ct) =>
        {
            started.TrySetResult();
            await release.Task;
            cancelled = ct.IsCancellationRequested;
            Interlocked.Increment(ref finished);
        });
        await bus.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Task, topic, 1));
        await started.Task.WaitAsync(TimeSpan.FromSeconds(15));

        var stopping = subscription.DisposeAsync().AsTask();
        // The stop has stopped reading and now waits for the handler: it must not return early.
        await Eventually.TrueAsync(() => ((RedisSubscription)subscription).IsDraining || stopping.IsCompleted);
        Assert.False(stopping.IsCompleted);
        release.SetResult();
        await stopping.WaitAsync(TimeSpan.FromSeconds(15));

        Assert.Equal(1, finished);
        Assert.False(cancelled);
        Assert.Equal(0, (await redis.Db.StreamPendingAsync(BusProtocol.StreamKey(topic), "svc")).PendingMessageCount);
        // The loop has ended (the stop awaited it): a later message stays unread by the group.
        var second = await bus.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Task, topic, 2));
        var group = Assert.Single(await redis.Db.StreamGroupInfoAsync(BusProtocol.StreamKey(topic)));
        Assert.NotEqual(second.EntryId, group.LastDeliveredId);
        Assert.Equal(1, finished);
    }

    [Fact]
    public async Task A_slow_handler_keeps_its_entry_and_is_not_reclaimed_by_another_consumer()
    {
        var topic = TestTopics.New();
        await using var a = await TestBus.CreateAsync(redis);
        await using var b = await TestBus.CreateAsync(redis);
        var handled = new Recorder();
        var startedA = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finishA = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var sa = await a.Bus.SubscribeAsync(topic, async (m, ct) =>
        {
            startedA.TrySetResult();
            await finishA.Task.WaitAsync(ct); // slow: busy until the test lets it finish
            await handled.Handle(m, ct);
        });
        await a.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Task, topic, 1));
        await startedA.Task.WaitAsync(TimeSpan.FromSeconds(15));
        await using var sb = await b.Bus.SubscribeAsync(topic, handled.Handle);

        // Watch the pending entry while A is busy: A's heartbeats keep resetting its idle time, so it never
        // reaches the claim idle time (400 ms) and B never takes it. Wait for enough resets to cover more
        // than the claim idle time.
        var claimIdle = a.Bus.DefaultOptions().ClaimIdleTime.TotalMilliseconds;
        var resets = 0;
        var lastIdle = -1L;
        var maxIdle = 0L;
        await Eventually.TrueAsync(async () =>
        {
            var pending = Assert.Single(await redis.Db.StreamPendingMessagesAsync(BusProtocol.StreamKey(topic), sa.Group, 10, RedisValue.Null));
            Assert.Equal(sa.Consumer, (string?)pending.ConsumerName);
            Assert.Equal(1, pending.DeliveryCount);
            maxIdle = Math.Max(maxIdle, pending.IdleTimeInMilliseconds);
            if (lastIdle >= 0 && pending.IdleTimeInMilliseconds < lastIdle)
            {
                resets++;
            }

            lastIdle = pending.IdleTimeInMilliseconds;
            return resets >= 6;
        }, TimeSpan.FromSeconds(15), "A's heartbeats keep resetting the entry's idle time");
        finishA.SetResult();

        await Eventually.TrueAsync(() => handled.Count == 1, TimeSpan.FromSeconds(15));
        Assert.True(maxIdle < claimIdle, $"the entry sat idle {maxIdle} ms, longer than the claim idle time");
        Assert.Equal(1, handled.Messages[0].DeliveryCount);
        await Eventually.TrueAsync(async () => (await redis.Db.StreamPendingAsync(BusProtocol.StreamKey(topic), sa.Group)).PendingMessageCount == 0);
        Assert.Equal(1, handled.Count);
    }

    [Fact]
    public async Task The_circuit_breaker_opens_after_repeated_failures_and_pauses_the_subscription()
    {
        var topic = TestTopics.New();
        await using var bus = await TestBus.CreateAsync(redis);
        var calls = 0;
        var options = bus.Bus.DefaultOptions() with
        {
            CircuitBreakerMinimumThroughput = 4,
            CircuitBreakerFailureRatio = 0.5,
            CircuitBreakerBreakDuration = TimeSpan.FromSeconds(30),
            CircuitBreakerSamplingDuration = TimeSpan.FromSeconds(30),
            MaxDeliveries = 100,
            Concurrency = 1,
        };
        await using var subscription = await bus.Bus.SubscribeAsync(topic, (_, _) =>
        {
            Interlocked.Increment(ref calls);
            throw new TimeoutException("downstream is down");
        }, options);

        for (var i = 0; i < 20; i++)
        {
            await bus.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Task, topic, i));
        }

        await Eventually.TrueAsync(async () => (await bus.Bus.CheckHealthAsync()).Status == Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Degraded);
        var callsWhenOpen = calls;

        // Messages keep coming: a healthy consumer in another group reads them all, while the paused
        // subscription takes none of them.
        await using var other = await TestBus.CreateAsync(redis, TestBus.Settings("other-service"));
        var otherGroup = new Recorder();
        await using var otherSubscription = await other.Bus.SubscribeAsync(topic, otherGroup.Handle, other.Bus.DefaultOptions() with { ReadFromBeginning = true });
        for (var i = 20; i < 30; i++)
        {
            await bus.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Task, topic, i));
        }

        await Eventually.TrueAsync(() => otherGroup.Count == 30, TimeSpan.FromSeconds(15), "the other group reads every message");
        Assert.InRange(callsWhenOpen, 4, 5);
        Assert.Equal(callsWhenOpen, calls);
        Assert.Contains("circuit breaker", (await bus.Bus.CheckHealthAsync()).Description, StringComparison.Ordinal);
        Assert.Equal(0, await bus.Bus.DeadLetters.CountAsync(topic));
    }
}

internal static class BusTestExtensions
{
    public static SubscriptionOptions DefaultOptions(this RedisMessageBus bus) => bus.Settings.Subscription with { };
}
