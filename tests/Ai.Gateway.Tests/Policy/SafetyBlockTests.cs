using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Ai.Gateway.Tests.Fakes;
using Ai.Gateway.Tests.OpenAICompat;
using OpenAI.Chat;

namespace Ai.Gateway.Tests.Policy;

/// <summary>
/// One behaviour per API for a safety block, streamed or not: /v1/generate answers 422 (code content_blocked;
/// an error event once text has been streamed), /v1/chat/completions answers OpenAI's finish_reason
/// content_filter. A blocked prompt goes to a fallback model only when Gateway:Policy:FallbackOnSafetyBlock is on.
/// </summary>
public sealed class SafetyBlockTests(RedisFixture redis) : IAsyncLifetime
{
    private const string PromptBlocked = """{"promptFeedback":{"blockReason":"SAFETY","blockReasonMessage":"Prompt refused."},"usageMetadata":{"promptTokenCount":3,"totalTokenCount":3}}""";

    private FakeGeminiServer _gemini = null!;
    private PolicyGateway _gateway = null!;

    public async ValueTask InitializeAsync()
    {
        _gemini = await FakeGeminiServer.StartNewAsync();
        _gateway = await PolicyGateway.StartAsync(redis, _gemini, [new TestModel("primary", Fallbacks: ["second"]), new TestModel("second")]);
    }

    public async ValueTask DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _gemini.DisposeAsync();
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Id(string name) => _gateway.Id(name);

    private static FakeReply StreamedPromptBlock() => FakeReply.Sse([PromptBlocked], "\r\n");

    private static FakeReply StreamedTextThenSafetyStop() => GeminiReplies.Stream(
    [
        GeminiReplies.Response([GeminiReplies.TextPart("Here is the first part")], finishReason: null),
        GeminiReplies.Response([GeminiReplies.TextPart(" and")], finishReason: "SAFETY", usage: GeminiReplies.Usage(4, 6)),
    ]);

    private async Task<(HttpResponseMessage Response, string Body)> GenerateStreamAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/generate") { Content = JsonContent.Create(new { input = "something unsafe", stream = true }) };
        var response = await _gateway.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct);
        return (response, await response.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public async Task A_blocked_prompt_is_422_content_blocked_and_not_sent_to_the_fallback_model()
    {
        _gemini.EnqueueFor(Id("primary"), FakeReply.Json(PromptBlocked));

        var (response, body) = await _gateway.GenerateAsync(new { input = "something unsafe" });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("content_blocked", body.GetProperty("code").GetString());
        Assert.Equal([Id("primary")], _gemini.Requests.Select(r => r.Model));
    }

    [Fact]
    public async Task FallbackOnSafetyBlock_sends_a_blocked_prompt_to_the_next_model()
    {
        await using var gateway = await PolicyGateway.StartAsync(redis, _gemini, [new TestModel("primary", Fallbacks: ["second"]), new TestModel("second")],
            new Dictionary<string, string?> { ["Gateway:Policy:FallbackOnSafetyBlock"] = "true" });
        _gemini.EnqueueFor(gateway.Id("primary"), FakeReply.Json(PromptBlocked));
        _gemini.EnqueueFor(gateway.Id("second"), GeminiReplies.Text("safe answer"));

        var (response, body) = await gateway.GenerateAsync(new { input = "something unsafe" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("safe answer", body.GetProperty("output").GetString());
        Assert.Equal("ContentBlocked", body.GetProperty("attempts")[0].GetProperty("kind").GetString());
    }

    [Fact]
    public async Task A_streamed_generate_whose_prompt_is_blocked_is_422_like_the_unary_call()
    {
        _gemini.EnqueueFor(Id("primary"), StreamedPromptBlock());

        var (response, body) = await GenerateStreamAsync();

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("content_blocked", JsonDocument.Parse(body).RootElement.GetProperty("code").GetString());
        Assert.Equal([Id("primary")], _gemini.Requests.Select(r => r.Model));
    }

    [Fact]
    public async Task A_streamed_generate_stopped_by_a_safety_filter_ends_with_an_error_event()
    {
        _gemini.EnqueueFor(Id("primary"), StreamedTextThenSafetyStop());

        var (response, body) = await GenerateStreamAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var events = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.DoesNotContain(events, e => e.StartsWith("event: done", StringComparison.Ordinal));
        var error = Assert.Single(events, e => e.StartsWith("event: error", StringComparison.Ordinal));
        var data = JsonDocument.Parse(error[(error.IndexOf("data: ", StringComparison.Ordinal) + 6)..]).RootElement;
        Assert.Equal(422, data.GetProperty("status").GetInt32());
        Assert.Equal("content_blocked", data.GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_chat_completion_whose_prompt_is_blocked_finishes_with_content_filter()
    {
        _gemini.EnqueueFor(Id("primary"), FakeReply.Json(PromptBlocked));

        var result = await OpenAISdk.ChatClient(_gateway, Id("primary")).CompleteChatAsync([new UserChatMessage("something unsafe")], cancellationToken: Ct);

        Assert.Equal(ChatFinishReason.ContentFilter, result.Value.FinishReason);
        Assert.Empty(result.Value.Content);
        Assert.Equal([Id("primary")], _gemini.Requests.Select(r => r.Model));
    }

    [Fact]
    public async Task A_streamed_chat_completion_whose_prompt_is_blocked_finishes_with_content_filter()
    {
        _gemini.EnqueueFor(Id("primary"), StreamedPromptBlock());

        ChatFinishReason? finish = null;
        await foreach (var update in OpenAISdk.ChatClient(_gateway, Id("primary")).CompleteChatStreamingAsync([new UserChatMessage("something unsafe")], cancellationToken: Ct))
        {
            finish = update.FinishReason ?? finish;
        }

        Assert.Equal(ChatFinishReason.ContentFilter, finish);
        Assert.Equal([Id("primary")], _gemini.Requests.Select(r => r.Model));
    }

    [Fact]
    public async Task A_streamed_chat_completion_stopped_by_a_safety_filter_finishes_with_content_filter()
    {
        _gemini.EnqueueFor(Id("primary"), StreamedTextThenSafetyStop());

        var text = "";
        ChatFinishReason? finish = null;
        await foreach (var update in OpenAISdk.ChatClient(_gateway, Id("primary")).CompleteChatStreamingAsync([new UserChatMessage("something unsafe")], cancellationToken: Ct))
        {
            text += string.Concat(update.ContentUpdate.Select(c => c.Text));
            finish = update.FinishReason ?? finish;
        }

        Assert.Equal("Here is the first part and", text);
        Assert.Equal(ChatFinishReason.ContentFilter, finish);
    }
}
