using System.Net;
using System.Net.Http.Json;
using Ai.Gateway.Tests.Fakes;
using Ai.Gateway.Tests.Policy;

namespace Ai.Gateway.Tests.Faults;

/// <summary>
/// Streams are bounded like unary calls: the open and the first update by the attempt timeout (then the
/// chain falls back, nothing having reached the client), the silence between updates by the idle timeout
/// (then the stream ends with an error event that says why). The fake Gemini's own request timeout is
/// minutes, so only the gateway's bounds can end these streams.
/// </summary>
public sealed class StalledStreamTests(RedisFixture redis) : IAsyncLifetime
{
    private FakeGeminiServer _gemini = null!;
    private PolicyGateway _gateway = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _gemini = await FakeGeminiServer.StartNewAsync();
        _gateway = await PolicyGateway.StartAsync(redis, _gemini,
            [new TestModel("slow", Fallbacks: ["fast"]), new TestModel("fast")],
            new Dictionary<string, string?>
            {
                ["Gateway:Policy:AttemptTimeout"] = "00:00:03",
                ["Gateway:Policy:StreamIdleTimeout"] = "00:00:01",
                ["Gateway:Policy:MaxRetries"] = "0",
                ["Gemini:RequestTimeout"] = "00:10:00",
            });
    }

    public async ValueTask DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _gemini.DisposeAsync();
    }

    private static FakeReply Chunks(bool thenStall, params string[] texts) =>
        GeminiReplies.Stream(texts.Select(t => GeminiReplies.Response([GeminiReplies.TextPart(t)], thenStall ? null : "STOP", GeminiReplies.Usage(3, 1))), thenStall: thenStall);

    private async Task<(HttpStatusCode Status, string Body)> PostAsync(string path, object body)
    {
        using var response = await _gateway.Client.PostAsJsonAsync(path, body, Ct);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public async Task A_stream_that_never_opens_falls_back_after_the_attempt_timeout()
    {
        _gemini.EnqueueFor(_gateway.Id("slow"), FakeReply.Stall());
        _gemini.EnqueueFor(_gateway.Id("fast"), Chunks(false, "from the fallback"));

        var (status, body) = await PostAsync("/v1/generate", new { input = "Hi", stream = true });

        Assert.True(status == HttpStatusCode.OK, body);
        Assert.Contains("from the fallback", body, StringComparison.Ordinal);
        Assert.Contains("\"kind\":\"Timeout\"", body, StringComparison.Ordinal);
        Assert.DoesNotContain("event: error", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_chat_stream_that_never_opens_falls_back_after_the_attempt_timeout()
    {
        _gemini.EnqueueFor(_gateway.Id("slow"), FakeReply.Stall());
        _gemini.EnqueueFor(_gateway.Id("fast"), Chunks(false, "from the fallback"));

        var (status, body) = await PostAsync("/v1/chat/completions",
            new { model = _gateway.Id("slow"), stream = true, messages = new[] { new { role = "user", content = "Hi" } } });

        Assert.True(status == HttpStatusCode.OK, body);
        Assert.Contains("from the fallback", body, StringComparison.Ordinal);
        Assert.Contains("data: [DONE]", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stream_that_goes_silent_mid_answer_ends_with_an_error_event_naming_the_timeout()
    {
        _gemini.EnqueueFor(_gateway.Id("slow"), Chunks(true, "first words"));

        var (status, body) = await PostAsync("/v1/generate", new { input = "Hi", stream = true });

        Assert.True(status == HttpStatusCode.OK, body);
        Assert.Contains("first words", body, StringComparison.Ordinal);
        Assert.Contains("event: error", body, StringComparison.Ordinal);
        Assert.Contains("Timeout", body, StringComparison.Ordinal);
        Assert.DoesNotContain("event: done", body, StringComparison.Ordinal);
        // Tokens already reached the client: no fallback mixes a second model into the answer.
        Assert.DoesNotContain(_gemini.Requests, r => r.Model == _gateway.Id("fast"));
    }

    [Fact]
    public async Task A_chat_stream_that_goes_silent_mid_answer_ends_with_an_error_chunk()
    {
        _gemini.EnqueueFor(_gateway.Id("slow"), Chunks(true, "first words"));

        var (status, body) = await PostAsync("/v1/chat/completions",
            new { model = _gateway.Id("slow"), stream = true, messages = new[] { new { role = "user", content = "Hi" } } });

        Assert.True(status == HttpStatusCode.OK, body);
        Assert.Contains("first words", body, StringComparison.Ordinal);
        Assert.Contains("\"error\"", body, StringComparison.Ordinal);
        Assert.DoesNotContain("[DONE]", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_mid_stream_upstream_failure_is_reported_with_its_cause()
    {
        // One good chunk, then one the client cannot read.
        var chunk = GeminiReplies.Response([GeminiReplies.TextPart("first words")], null, GeminiReplies.Usage(3, 1)).ToJsonString();
        _gemini.EnqueueFor(_gateway.Id("slow"), FakeReply.Sse([chunk, "{not json"]));

        var (status, body) = await PostAsync("/v1/generate", new { input = "Hi", stream = true });

        Assert.True(status == HttpStatusCode.OK, body);
        Assert.Contains("event: error", body, StringComparison.Ordinal);
        Assert.DoesNotContain("Unexpected error", body, StringComparison.Ordinal);
        Assert.Contains("\"status\":502", body, StringComparison.Ordinal);
        Assert.Contains(_gateway.Id("slow"), body, StringComparison.Ordinal);
    }
}
