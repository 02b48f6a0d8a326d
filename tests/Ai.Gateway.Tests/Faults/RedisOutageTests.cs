using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Ai.Gateway.Agents;
using Ai.Gateway.Generation;
using Ai.Gateway.Tests.Fakes;
using Ai.Gateway.Tests.Policy;
using Ai.Gateway.Usage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Communication.Bus.Contracts;
using TestSupport;

namespace Ai.Gateway.Tests.Faults;

/// <summary>
/// Usage accounting is best-effort and off the answer's path: with Redis stopped or paused every
/// answer path still answers, the failed writes are counted, and the usage is written once Redis is back.
/// </summary>
public sealed class RedisOutageTests : IAsyncLifetime
{
    private RedisServer _redis = null!;
    private FakeGeminiServer _gemini = null!;
    private PolicyGateway _gateway = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        // A Redis of this test's own: it gets stopped and paused.
        _redis = await RedisServer.StartAsync();
        _gemini = await FakeGeminiServer.StartNewAsync();
        _gateway = await PolicyGateway.StartAsync(_redis.ConnectionString + ",asyncTimeout=1000,syncTimeout=1000", _gemini,
            [new TestModel("main", Fallbacks: ["spare"]), new TestModel("spare")],
            new Dictionary<string, string?> { ["Gateway:Usage:FlushInterval"] = "00:00:00.100" });
    }

    public async ValueTask DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _gemini.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private string Main => _gateway.Id("main");

    [Fact]
    public async Task Every_answer_path_answers_while_Redis_is_stopped()
    {
        await AnsweredOnceWithUsageWrittenAsync();
        _redis.Stop();

        var (unary, body) = await _gateway.GenerateAsync(new { input = "Hi" });
        Assert.True(unary.StatusCode == HttpStatusCode.OK, body.ToString());

        // A failed model (failure record) and the fallback that answers (fallback record).
        _gemini.EnqueueFor(Main, GeminiReplies.Error(400, "INVALID_ARGUMENT", "no"));
        var (fellBack, fallbackBody) = await _gateway.GenerateAsync(new { input = "Hi" });
        Assert.True(fellBack.StatusCode == HttpStatusCode.OK, fallbackBody.ToString());
        Assert.Equal([_gateway.Id("spare")], fallbackBody.GetProperty("fallbacks").EnumerateArray().Select(f => f.GetString()));

        _gemini.EnqueueFor(Main, StreamedReply());
        using var stream = await _gateway.Client.PostAsJsonAsync("/v1/generate", new { input = "Hi", stream = true }, Ct);
        var events = await stream.Content.ReadAsStringAsync(Ct);
        Assert.True(stream.StatusCode == HttpStatusCode.OK, events);
        Assert.Contains("event: done", events, StringComparison.Ordinal);

        var chatRequest = new { model = Main, messages = new[] { new { role = "user", content = "Hi" } } };
        using var chat = await _gateway.Client.PostAsJsonAsync("/v1/chat/completions", chatRequest, Ct);
        Assert.True(chat.StatusCode == HttpStatusCode.OK, await chat.Content.ReadAsStringAsync(Ct));

        _gemini.EnqueueFor(Main, StreamedReply());
        using var chatStream = await _gateway.Client.PostAsJsonAsync("/v1/chat/completions",
            new { model = Main, stream = true, messages = chatRequest.messages }, Ct);
        var chunks = await chatStream.Content.ReadAsStringAsync(Ct);
        Assert.True(chatStream.StatusCode == HttpStatusCode.OK, chunks);
        Assert.Contains("data: [DONE]", chunks, StringComparison.Ordinal);

        using var batch = await _gateway.Client.PostAsJsonAsync("/v1/generate/batch",
            new { requests = new[] { new { input = "one" }, new { input = "two" } } }, Ct);
        var batchBody = await batch.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.True(batch.StatusCode == HttpStatusCode.OK, batchBody.ToString());
        Assert.Equal(2, batchBody.GetProperty("succeeded").GetInt32());
    }

    [Fact]
    public async Task A_hosted_agent_answers_its_task_while_Redis_is_stopped()
    {
        await AnsweredOnceWithUsageWrittenAsync();
        var agent = Agents.HostedAgentSetup.Create(_gateway.Services, "writer",
            new HostedAgentDefinition { Name = "Writer", Capabilities = ["writing"], Model = Main }, TimeProvider.System);
        _redis.Stop();

        var result = await agent.HandleAsync(new AgentTask
        {
            RunId = "run-1", WorkflowId = "wf", StepId = "write", Attempt = 1, AgentId = "writer",
            Input = JsonSerializer.SerializeToElement("Write a line."),
        }, Ct);

        Assert.True(result.Ok, result.Error);
        Assert.Equal(Main, result.Metadata?.Model);
    }

    [Fact]
    public async Task Answers_keep_coming_while_Redis_is_paused()
    {
        await AnsweredOnceWithUsageWrittenAsync();

        // Longer than the Redis client's 1 s timeout: a write that waited for Redis would fail.
        Assert.Equal("+OK", await _redis.CommandAsync("CLIENT PAUSE 8000 ALL"));
        var (response, body) = await _gateway.GenerateAsync(new { input = "Hi" });

        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
    }

    [Fact]
    public async Task Usage_that_could_not_be_written_is_written_when_Redis_is_back()
    {
        using var failures = new MetricCollector<long>(_gateway.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(),
            UsageWriter.MeterName, UsageWriter.WriteFailuresName);
        await AnsweredOnceWithUsageWrittenAsync();
        _redis.Stop();

        for (var i = 0; i < 3; i++)
        {
            var (response, body) = await _gateway.GenerateAsync(new { input = "Hi" });
            Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
        }

        await Eventually.TrueAsync(() => failures.GetMeasurementSnapshot().Sum(m => m.Value) > 0, because: "failed writes are counted");
        await _redis.RestartAsync();

        // The restarted Redis is empty: what it holds is exactly the usage kept while it was away.
        var usage = await Eventually.ValueAsync(() => RequestsAsync(Main), requests => requests == 3, because: "the kept usage is written");
        Assert.Equal(3, usage);
    }

    private static FakeReply StreamedReply() =>
        GeminiReplies.Stream([GeminiReplies.Response([GeminiReplies.TextPart("streamed")], "STOP", GeminiReplies.Usage(3, 1))]);

    private async Task AnsweredOnceWithUsageWrittenAsync()
    {
        var (response, body) = await _gateway.GenerateAsync(new { input = "warm up" });
        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
        await Eventually.ValueAsync(() => RequestsAsync(Main), requests => requests == 1, because: "the first answer's usage is written");
    }

    private async Task<long> RequestsAsync(string model)
    {
        using var response = await _gateway.Client.GetAsync("/v1/usage", Ct);
        if (!response.IsSuccessStatusCode)
        {
            return -1;
        }

        var usage = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        return usage.GetProperty("models").EnumerateArray()
            .Where(m => m.GetProperty("model").GetString() == model)
            .Select(m => m.GetProperty("requests").GetInt64())
            .FirstOrDefault();
    }
}
