using System.Diagnostics;

namespace Communication.Bus.Tests;

/// <summary>The send and process spans and the trace context between them, without Redis.</summary>
public sealed class BusActivitiesTests : IDisposable
{
    private readonly ActivitySource _test = new("bus-activities-test");
    private readonly ActivityListener _listener = new()
    {
        ShouldListenTo = source => source.Name is CommunicationBusTelemetry.ActivitySourceName or "bus-activities-test",
        Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
    };

    public BusActivitiesTests() => ActivitySource.AddActivityListener(_listener);

    public void Dispose()
    {
        _listener.Dispose();
        _test.Dispose();
    }

    private static BusMessage Received(IReadOnlyDictionary<string, string> meta, string? correlationId = "conv-1") =>
        new("0193a1b2-0000-7000-8000-000000000001", DateTimeOffset.UnixEpoch, MessageType.Task, QualityOfService.AtLeastOnce, "orders.spans",
            "svc", ["worker"], correlationId, null, "{}"u8.ToArray(), meta, "k1", 2, "1700000000000-0");

    [Fact]
    public void Without_a_trace_the_meta_is_published_as_it_is()
    {
        var meta = new Dictionary<string, string> { ["tenant"] = "a" };

        Assert.Same(meta, BusActivities.WithTraceContext(meta, null));
    }

    [Fact]
    public void The_send_span_is_a_producer_span_whose_context_travels_in_meta_and_parents_the_process_span()
    {
        using var root = _test.StartActivity("client request");
        var outgoing = OutgoingMessage.Create(MessageType.Task, "orders.spans", 1, to: ["worker"]) with { CorrelationId = "conv-1" };
        var meta = new Dictionary<string, string> { ["tenant"] = "a" };

        using var send = BusActivities.StartSend(outgoing, "0193a1b2-0000-7000-8000-000000000001");
        Assert.NotNull(send);
        send.TraceStateString = "vendor=1";
        var published = BusActivities.WithTraceContext(meta, send);
        using var process = BusActivities.StartProcess(Received(published), "orders.spans", "workers", "replica-1");

        Assert.Equal("send orders.spans", send.OperationName);
        Assert.Equal(ActivityKind.Producer, send.Kind);
        Assert.Equal(root!.SpanId, send.ParentSpanId);
        Assert.Equal("publish", send.GetTagItem("messaging.operation.name"));
        Assert.Equal("conv-1", send.GetTagItem("messaging.message.conversation_id"));
        Assert.Single(meta); // the caller's meta is not changed
        Assert.Equal("a", published["tenant"]);
        Assert.Equal($"00-{send.TraceId}-{send.SpanId}-01", published["traceparent"]);
        Assert.Equal("vendor=1", published["tracestate"]);

        Assert.NotNull(process);
        Assert.Equal("process orders.spans", process.OperationName);
        Assert.Equal(ActivityKind.Consumer, process.Kind);
        Assert.Equal(send.TraceId, process.TraceId);
        Assert.Equal(send.SpanId, process.ParentSpanId);
        Assert.True(process.HasRemoteParent);
        Assert.Equal("vendor=1", process.TraceStateString);
        Assert.Equal("redis", process.GetTagItem("messaging.system"));
        Assert.Equal("workers", process.GetTagItem("messaging.consumer.group.name"));
        Assert.Equal("replica-1", process.GetTagItem("messaging.client.id"));
        Assert.Equal("1700000000000-0", process.GetTagItem("messaging.redis.stream.entry_id"));
        Assert.Equal(2, process.GetTagItem("bus.delivery_count"));
        Assert.Equal("TASK", process.GetTagItem("bus.message.type"));
    }

    [Fact]
    public void A_message_without_a_traceparent_starts_its_own_trace()
    {
        using var process = BusActivities.StartProcess(Received(new Dictionary<string, string>(), correlationId: null), "orders.spans", "workers", "replica-1");

        Assert.NotNull(process);
        Assert.Equal(default(ActivitySpanId), process.ParentSpanId);
        Assert.Null(process.GetTagItem("messaging.message.conversation_id"));
    }

    [Fact]
    public void A_failed_span_carries_the_error_status_and_type()
    {
        using var send = BusActivities.StartSend(OutgoingMessage.Create(MessageType.Event, "orders.spans", 1), "0193a1b2-0000-7000-8000-000000000002");

        BusActivities.SetFailed(send, new TimeoutException("too slow"));
        BusActivities.SetFailed(null, new TimeoutException("nobody listens"));

        Assert.Equal(ActivityStatusCode.Error, send!.Status);
        Assert.Equal("too slow", send.StatusDescription);
        Assert.Equal(typeof(TimeoutException).FullName, send.GetTagItem("error.type"));
    }
}
