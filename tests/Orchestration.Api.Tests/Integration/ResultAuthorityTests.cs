using System.Text.Json;
using Communication.Bus;
using Communication.Bus.Contracts;
using StackExchange.Redis;
using TestSupport;
using static Orchestration.Api.Tests.Integration.OrchestrationClient;

namespace Orchestration.Api.Tests.Integration;

/// <summary>
/// Issue 9: a TASK_RESULT counts only from the agent the attempt was sent to and only with the attempt's
/// correlation id; a step input that renders past the bound fails the step once, without a re-send loop.
/// </summary>
public sealed class ResultAuthorityTests : IntegrationTest
{
    [Fact]
    public async Task Another_agent_cannot_complete_a_step_by_leaving_the_correlation_id_empty()
    {
        var worker = await AgentAsync("worker", _ => AgentAction.Succeed(new { from = "worker" }).WhenReleased());
        await Api.PutWorkflowAsync(Wf.Of("guarded", Wf.Step("s1", agent: "worker", maxAttempts: 1)), Ct);
        var runId = await Api.StartRunAsync("guarded", cancellationToken: Ct);
        var task = await worker.WaitForTaskAsync(runId, "s1");

        var forged = await PublishResultAsync("intruder", new AgentTaskResult
        {
            RunId = runId, StepId = "s1", Attempt = 1, Ok = true, AgentId = "worker",
            Output = JsonSerializer.SerializeToElement(new { from = "intruder" }),
        }, correlationId: null);
        await WaitUntilHandledAsync(forged);
        var afterForgery = await Api.GetRunAsync(runId, Ct);
        task.Release();
        var run = await Api.WaitForRunAsync(runId, cancellationToken: Ct);

        Assert.Equal("RUNNING", Step(afterForgery, "s1").GetProperty("status").GetString());
        Assert.Null(Value(Step(afterForgery, "s1"), "output"));
        Assert.Equal("SUCCEEDED", Status(run));
        Assert.Equal("worker", run.GetProperty("output").GetProperty("from").GetString());
    }

    [Fact]
    public async Task Another_sender_cannot_complete_a_step_even_with_the_right_correlation_id()
    {
        var worker = await AgentAsync("worker", _ => AgentAction.Succeed(new { from = "worker" }).WhenReleased());
        await Api.PutWorkflowAsync(Wf.Of("guarded", Wf.Step("s1", agent: "worker", maxAttempts: 1)), Ct);
        var runId = await Api.StartRunAsync("guarded", cancellationToken: Ct);
        var task = await worker.WaitForTaskAsync(runId, "s1");

        var forged = await PublishResultAsync("intruder", new AgentTaskResult
        {
            RunId = runId, StepId = "s1", Attempt = 1, Ok = true, AgentId = "worker",
            Output = JsonSerializer.SerializeToElement(new { from = "intruder" }),
        }, correlationId: task.MessageId);
        await WaitUntilHandledAsync(forged);
        var afterForgery = await Api.GetRunAsync(runId, Ct);
        task.Release();
        var run = await Api.WaitForRunAsync(runId, cancellationToken: Ct);

        Assert.Equal("RUNNING", Step(afterForgery, "s1").GetProperty("status").GetString());
        Assert.Equal("worker", run.GetProperty("output").GetProperty("from").GetString());
    }

    [Fact]
    public async Task A_step_input_that_renders_past_the_bound_fails_the_step_once_with_a_clear_error_and_sends_nothing()
    {
        var worker = await AgentAsync("worker");
        var copies = Enumerable.Range(0, 10).ToDictionary(i => $"copy{i}", _ => (object)"{{input.big}}");
        await Api.PutWorkflowAsync(Wf.Of("huge", Wf.Step("s1", agent: "worker", maxAttempts: 3, timeoutMs: 20_000, input: copies)), Ct);
        // The render fails in the first transition, so the start may already answer with the ended run.
        var (_, started) = await Api.TryStartRunAsync("huge", new { big = new string('x', 100_000) }, cancellationToken: Ct);

        var run = await Api.WaitForRunAsync(started.GetProperty("runId").GetString()!, cancellationToken: Ct);
        var runId = run.GetProperty("runId").GetString()!;

        Assert.Equal("FAILED", Status(run));
        Assert.Contains("over the limit", Step(run, "s1").GetProperty("error").GetString());
        Assert.Equal(1, Step(run, "s1").GetProperty("attempts").GetInt32());
        Assert.Equal(0, worker.Deliveries(runId, "s1"));
    }

    [Fact]
    public async Task A_signed_result_whose_payload_is_not_a_task_result_is_dead_lettered_at_once_and_runs_go_on()
    {
        var settings = new CommunicationBusSettings { ServiceName = "worker", ConsumerName = "worker" };
        settings.Signing.Keys.Add(new SigningKeySettings { Id = TestSecrets.SigningKeyId, Secret = TestSecrets.SigningSecret });
        await using var redis = await ConnectionMultiplexer.ConnectAsync(Redis.ConnectionString);
        await using var bus = new RedisMessageBus(redis, settings);
        for (var i = 0; i < 12; i++)
        {
            await bus.PublishAsync(new OutgoingMessage(MessageType.TaskResult, "orchestration.results", "[]"u8.ToArray()), Ct);
        }

        var letters = await Eventually.ValueAsync(() => bus.DeadLetters.ListAsync("orchestration.results"), l => l.Count == 12, TimeSpan.FromSeconds(30));
        Assert.All(letters, l =>
        {
            Assert.Equal(RejectionReasons.InvalidPayload, l.Reason);
            Assert.Equal(1, l.DeliveryCount);
        });

        // The results breaker stayed closed: a run still completes.
        await AgentAsync("worker2");
        await Api.PutWorkflowAsync(Wf.Of("after-poison", Wf.Step("s1", agent: "worker2", maxAttempts: 1)), Ct);
        var run = await Api.WaitForRunAsync(await Api.StartRunAsync("after-poison", cancellationToken: Ct), cancellationToken: Ct);
        Assert.Equal("SUCCEEDED", Status(run));
    }

    [Fact]
    public async Task A_correctly_signed_result_with_invalid_utf8_in_its_payload_is_dead_lettered_at_once_and_completes_nothing()
    {
        var worker = await AgentAsync("worker", _ => AgentAction.Succeed(new { from = "worker" }).WhenReleased());
        await Api.PutWorkflowAsync(Wf.Of("strict-bytes", Wf.Step("s1", agent: "worker", maxAttempts: 1)), Ct);
        var runId = await Api.StartRunAsync("strict-bytes", cancellationToken: Ct);
        var task = await worker.WaitForTaskAsync(runId, "s1");

        // Everything right (the worker's name and key, the attempt's correlation id, a signature over the exact bytes on
        // the wire, PROTOCOL §4) but one byte of the output: 0xFF, which is never UTF-8 (the repro stored U+FFFD).
        var payload = JsonSerializer.SerializeToUtf8Bytes(new AgentTaskResult
        {
            RunId = runId, StepId = "s1", Attempt = 1, Ok = true, AgentId = "worker",
            Output = JsonSerializer.SerializeToElement(new { text = "bad-MARK" }),
        });
        payload[payload.AsSpan().IndexOf("MARK"u8)] = 0xFF;
        var id = Guid.CreateVersion7().ToString();
        var ts = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var fields = new Dictionary<string, byte[]>
        {
            ["v"] = "1"u8.ToArray(),
            ["id"] = System.Text.Encoding.ASCII.GetBytes(id),
            ["ts"] = System.Text.Encoding.ASCII.GetBytes(ts),
            ["type"] = "TASK_RESULT"u8.ToArray(),
            ["qos"] = "at-least-once"u8.ToArray(),
            ["topic"] = "orchestration.results"u8.ToArray(),
            ["from"] = "worker"u8.ToArray(),
            ["to"] = "[]"u8.ToArray(),
            ["correlationId"] = System.Text.Encoding.ASCII.GetBytes(task.MessageId),
            ["replyTo"] = [],
            ["meta"] = "{}"u8.ToArray(),
            ["payload"] = payload,
            ["keyId"] = System.Text.Encoding.ASCII.GetBytes(TestSecrets.SigningKeyId),
        };
        var header = System.Text.Encoding.UTF8.GetBytes(string.Join("\n",
            "bus.v1", id, ts, "TASK_RESULT", "at-least-once", "orchestration.results", "worker", "", task.MessageId, "") + "\n");
        var mac = System.Security.Cryptography.HMACSHA256.HashData(System.Text.Encoding.UTF8.GetBytes(TestSecrets.SigningSecret), header.Concat(payload).ToArray());
        fields["sig"] = System.Text.Encoding.ASCII.GetBytes($"{TestSecrets.SigningKeyId}:{Convert.ToBase64String(mac)}");
        await RedisClient.GetDatabase().StreamAddAsync(ResultsTopic.Stream, [.. fields.Select(f => new NameValueEntry(f.Key, f.Value))]);

        var settings = new CommunicationBusSettings { ServiceName = "observer", ConsumerName = "observer" };
        settings.Signing.Keys.Add(new SigningKeySettings { Id = TestSecrets.SigningKeyId, Secret = TestSecrets.SigningSecret });
        await using var redis = await ConnectionMultiplexer.ConnectAsync(Redis.ConnectionString);
        await using var bus = new RedisMessageBus(redis, settings);
        var letter = (await Eventually.ValueAsync(() => bus.DeadLetters.ListAsync("orchestration.results"), l => l.Count == 1, TimeSpan.FromSeconds(30)))[0];
        var afterForgery = await Api.GetRunAsync(runId, Ct);
        task.Release();
        var run = await Api.WaitForRunAsync(runId, cancellationToken: Ct);

        Assert.Equal(RejectionReasons.Invalid, letter.Reason);
        Assert.Equal(1, letter.DeliveryCount);
        Assert.Contains("payload", letter.Detail, StringComparison.Ordinal);
        Assert.Contains("UTF-8", letter.Detail, StringComparison.Ordinal);
        Assert.Equal("RUNNING", Step(afterForgery, "s1").GetProperty("status").GetString());
        Assert.Null(Value(Step(afterForgery, "s1"), "output"));
        Assert.Equal("SUCCEEDED", Status(run));
        Assert.Equal("worker", run.GetProperty("output").GetProperty("from").GetString());
    }

    private async Task<PublishReceipt> PublishResultAsync(string sender, AgentTaskResult result, string? correlationId)
    {
        var settings = new CommunicationBusSettings { ServiceName = sender, ConsumerName = sender };
        settings.Signing.Keys.Add(new SigningKeySettings { Id = TestSecrets.SigningKeyId, Secret = TestSecrets.SigningSecret });
        await using var redis = await ConnectionMultiplexer.ConnectAsync(Redis.ConnectionString);
        await using var bus = new RedisMessageBus(redis, settings);
        return await bus.PublishAsync(new OutgoingMessage(MessageType.TaskResult, "orchestration.results", JsonSerializer.SerializeToUtf8Bytes(result))
        {
            CorrelationId = correlationId,
        }, Ct);
    }
}
