using TestSupport;

namespace Communication.Bus.Tests;

[Trait("Category", "Cluster")]
public class RequestReplyTests(RedisFixture redis)
{
    [Fact]
    public async Task A_request_gets_the_reply_with_its_correlation_id()
    {
        var topic = TestTopics.New("agents");
        await using var orchestrator = await TestBus.CreateAsync(redis, TestBus.Settings("orchestrator"));
        await using var agent = await TestBus.CreateAsync(redis, TestBus.Settings("agent"));
        BusMessage? seenRequest = null;
        await using var worker = await agent.Bus.SubscribeAsync(topic, async (request, ct) =>
        {
            seenRequest = request;
            var work = request.GetPayload<Work>()!;
            await agent.Bus.ReplyAsync(request, new Work(work.Name + "-done", work.N * 2), cancellationToken: ct);
        });

        var reply = await orchestrator.Bus.RequestAsync(
            OutgoingMessage.Create(MessageType.Task, topic, new Work("summarize", 21), to: ["agent"]), TimeSpan.FromSeconds(15));

        Assert.Equal(MessageType.TaskResult, reply.Type);
        Assert.Equal(new Work("summarize-done", 42), reply.GetPayload<Work>());
        Assert.Equal(seenRequest!.CorrelationId, reply.CorrelationId);
        Assert.Equal(orchestrator.Bus.ReplyTopic, seenRequest.ReplyTo);
        Assert.Equal(["orchestrator"], reply.To);
        Assert.Equal("agent", reply.From);
    }

    [Fact]
    public async Task Concurrent_requests_each_get_their_own_reply()
    {
        var topic = TestTopics.New("agents");
        await using var orchestrator = await TestBus.CreateAsync(redis, TestBus.Settings("orchestrator"));
        await using var agent = await TestBus.CreateAsync(redis, TestBus.Settings("agent"));
        await using var worker = await agent.Bus.SubscribeAsync(topic, (request, ct) =>
            agent.Bus.ReplyAsync(request, request.GetPayload<Work>()! with { Name = "r" }, cancellationToken: ct));

        var replies = await Task.WhenAll(Enumerable.Range(0, 10).Select(i =>
            orchestrator.Bus.RequestAsync(OutgoingMessage.Create(MessageType.Task, topic, new Work("q", i)), TimeSpan.FromSeconds(20))));

        Assert.Equal(Enumerable.Range(0, 10), replies.Select(r => r.GetPayload<Work>()!.N));
    }

    [Fact]
    public async Task A_request_without_reply_times_out()
    {
        var topic = TestTopics.New("agents");
        await using var orchestrator = await TestBus.CreateAsync(redis, TestBus.Settings("orchestrator"));

        var ex = await Assert.ThrowsAsync<TimeoutException>(() =>
            orchestrator.Bus.RequestAsync(OutgoingMessage.Create(MessageType.Task, topic, 1), TimeSpan.FromMilliseconds(500)));

        Assert.Contains(topic, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replying_to_a_message_without_reply_topic_is_an_error()
    {
        var topic = TestTopics.New();
        await using var bus = await TestBus.CreateAsync(redis);
        var received = new TaskCompletionSource<BusMessage>();
        await using var s = await bus.Bus.SubscribeAsync(topic, (m, _) => { received.TrySetResult(m); return Task.CompletedTask; });
        await bus.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Event, topic, 1));
        var message = await received.Task.WaitAsync(TimeSpan.FromSeconds(15));

        await Assert.ThrowsAsync<InvalidOperationException>(() => bus.Bus.ReplyAsync(message, 2));
    }
}
