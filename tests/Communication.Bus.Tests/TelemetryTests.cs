using System.Collections.Concurrent;
using System.Diagnostics;
using TestSupport;

namespace Communication.Bus.Tests;

[Trait("Category", "Cluster")]
public sealed class TelemetryTests(RedisFixture redis) : IDisposable
{
    private readonly ConcurrentQueue<Activity> _activities = new();
    private readonly ActivityListener _listener = new()
    {
        ShouldListenTo = source => source.Name == CommunicationBusTelemetry.ActivitySourceName || source.Name == "test",
        Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
    };

    public void Dispose() => _listener.Dispose();

    [Fact]
    public async Task The_trace_continues_across_the_bus_with_messaging_attributes()
    {
        _listener.ActivityStopped = _activities.Enqueue;
        ActivitySource.AddActivityListener(_listener);
        using var testSource = new ActivitySource("test");
        var topic = TestTopics.New();
        await using var bus = await TestBus.CreateAsync(redis);
        var received = new TaskCompletionSource<(BusMessage Message, ActivityContext Context)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var subscription = await bus.Bus.SubscribeAsync(topic, (m, _) =>
        {
            received.TrySetResult((m, Activity.Current!.Context));
            return Task.CompletedTask;
        });

        ActivityTraceId traceId;
        using (var root = testSource.StartActivity("client request"))
        {
            traceId = root!.TraceId;
            await bus.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Task, topic, 1) with { CorrelationId = "c-1" });
        }

        var (message, context) = await received.Task.WaitAsync(TimeSpan.FromSeconds(15));
        await Eventually.TrueAsync(() => _activities.Any(a => a.OperationName == "process " + topic));
        var send = _activities.Single(a => a.OperationName == "send " + topic);
        var process = _activities.Single(a => a.OperationName == "process " + topic);

        Assert.Equal(traceId, send.TraceId);
        Assert.Equal(traceId, context.TraceId);
        Assert.Equal(send.SpanId, process.ParentSpanId);
        Assert.Equal($"00-{traceId}-{send.SpanId}-01", message.Meta["traceparent"]);
        Assert.Equal(ActivityKind.Producer, send.Kind);
        Assert.Equal(ActivityKind.Consumer, process.Kind);
        Assert.Equal("redis", send.GetTagItem("messaging.system"));
        Assert.Equal("send", send.GetTagItem("messaging.operation.type"));
        Assert.Equal(topic, send.GetTagItem("messaging.destination.name"));
        Assert.Equal(message.Id, send.GetTagItem("messaging.message.id"));
        Assert.Equal("process", process.GetTagItem("messaging.operation.type"));
        Assert.Equal("svc", process.GetTagItem("messaging.consumer.group.name"));
        Assert.Equal("c-1", process.GetTagItem("messaging.message.conversation_id"));
        Assert.Equal(ActivityStatusCode.Ok, process.Status);
    }

    [Fact]
    public async Task The_meter_counts_published_delivered_acked_and_records_handler_duration()
    {
        var topic = TestTopics.New();
        await using var bus = await TestBus.CreateAsync(redis);
        using var published = bus.Counter(CommunicationBusTelemetry.PublishedCounter);
        using var delivered = bus.Counter(CommunicationBusTelemetry.DeliveredCounter);
        using var acked = bus.Counter(CommunicationBusTelemetry.AckedCounter);
        using var duration = new Microsoft.Extensions.Diagnostics.Metrics.Testing.MetricCollector<double>(
            bus.MeterFactory, CommunicationBusTelemetry.MeterName, CommunicationBusTelemetry.HandlerDurationHistogram);
        var recorder = new Recorder();
        await using var subscription = await bus.Bus.SubscribeAsync(topic, recorder.Handle);

        for (var i = 0; i < 3; i++)
        {
            await bus.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Event, topic, i));
        }

        await Eventually.TrueAsync(() => acked.GetMeasurementSnapshot().Sum(m => m.Value) == 3);
        Assert.Equal(3, published.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal(3, delivered.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.All(published.GetMeasurementSnapshot(), m => Assert.Equal(topic, m.Tags["messaging.destination.name"]));
        Assert.All(acked.GetMeasurementSnapshot(), m => Assert.Equal("svc", m.Tags["messaging.consumer.group.name"]));
        Assert.Equal(3, duration.GetMeasurementSnapshot().Count);
    }
}

[Trait("Category", "Cluster")]
public sealed class ReplyMetricsTests(RedisFixture redis)
{
    [Fact]
    public async Task Metrics_of_per_process_reply_topics_are_tagged_with_a_template_not_the_raw_topic()
    {
        var topic = TestTopics.New("ask");
        await using var requester = await TestBus.CreateAsync(redis, TestBus.Settings("requester"));
        await using var responder = await TestBus.CreateAsync(redis, TestBus.Settings("responder"));
        using var published = responder.Counter(CommunicationBusTelemetry.PublishedCounter);
        using var delivered = requester.Counter(CommunicationBusTelemetry.DeliveredCounter);
        using var acked = requester.Counter(CommunicationBusTelemetry.AckedCounter);
        await using var subscription = await responder.Bus.SubscribeAsync(topic, (m, ct) =>
            responder.Bus.ReplyAsync(m, OutgoingMessage.Create(MessageType.TaskResult, "ignored", "ok"), ct));

        await requester.Bus.RequestAsync(OutgoingMessage.Create(MessageType.Task, topic, 1), TimeSpan.FromSeconds(20));
        await Eventually.TrueAsync(() => acked.GetMeasurementSnapshot().Count > 0);

        var reply = Assert.Single(published.GetMeasurementSnapshot());
        Assert.Equal("reply.*", reply.Tags["messaging.destination.name"]);
        var delivery = Assert.Single(delivered.GetMeasurementSnapshot());
        Assert.Equal("reply.*", delivery.Tags["messaging.destination.name"]);
        Assert.Equal("reply.*", delivery.Tags["messaging.consumer.group.name"]);
        Assert.DoesNotContain(requester.Bus.ConsumerName, string.Join(" ", acked.GetMeasurementSnapshot().SelectMany(m => m.Tags.Values)), StringComparison.Ordinal);
    }
}
