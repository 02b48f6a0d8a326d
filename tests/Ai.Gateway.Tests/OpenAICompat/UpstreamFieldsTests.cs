using System.Text.Json.Nodes;
using Ai.Gateway.Tests.Fakes;
using Ai.Gateway.Tests.Policy;
using OpenAI.Chat;

namespace Ai.Gateway.Tests.OpenAICompat;

/// <summary>
/// What the upstream said survives the gateway's re-serialised answer: system_fingerprint, cached and reasoning
/// tokens (Gemini's cachedContentTokenCount and thoughtsTokenCount); reasoning_effort minimal reaches Gemini as MINIMAL
/// on models that have it.
/// </summary>
public sealed class UpstreamFieldsTests(RedisFixture redis) : IAsyncLifetime
{
    private FakeGeminiServer _gemini = null!;
    private FakeOpenAIServer _openAI = null!;
    private PolicyGateway _gateway = null!;

    public async ValueTask InitializeAsync()
    {
        _gemini = await FakeGeminiServer.StartNewAsync();
        _openAI = await FakeOpenAIServer.StartNewAsync();
        var suffix = Guid.NewGuid().ToString("N")[..8];
        _gateway = await PolicyGateway.StartAsync(redis, _gemini,
            [new TestModel("flash"), new TestModel("lite"), new TestModel("gpt", Provider: "openai")],
            new Dictionary<string, string?>
            {
                ["OpenAI:ApiKey"] = FakeOpenAIServer.ApiKey,
                ["OpenAI:Endpoint"] = _openAI.Endpoint.ToString(),
                [$"Gateway:Models:lite-{suffix}:ThinkingLevels:0"] = "MINIMAL",
                [$"Gateway:Models:lite-{suffix}:ThinkingLevels:1"] = "LOW",
            },
            suffix);
    }

    public async ValueTask DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _gemini.DisposeAsync();
        await _openAI.DisposeAsync();
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Id(string name) => _gateway.Id(name);

    private static FakeReply GeminiWithCacheAndThoughts() =>
        FakeReply.Json(GeminiReplies.Response([GeminiReplies.TextPart("cached answer")], usage: GeminiReplies.Usage(10, 5, thoughts: 7, cached: 4)).ToJsonString());

    [Fact]
    public async Task Gemini_cached_and_thinking_tokens_become_openai_s_token_details()
    {
        _gemini.EnqueueFor(Id("flash"), GeminiWithCacheAndThoughts());

        var completion = (await OpenAISdk.ChatClient(_gateway, Id("flash")).CompleteChatAsync([new UserChatMessage("Hi")], cancellationToken: Ct)).Value;

        Assert.Equal(10, completion.Usage.InputTokenCount);
        Assert.Equal(4, completion.Usage.InputTokenDetails.CachedTokenCount);
        Assert.Equal(12, completion.Usage.OutputTokenCount);
        Assert.Equal(7, completion.Usage.OutputTokenDetails.ReasoningTokenCount);
    }

    [Fact]
    public async Task A_streamed_answer_reports_the_token_details_in_its_usage_chunk()
    {
        _gemini.EnqueueFor(Id("flash"), GeminiReplies.Stream([GeminiReplies.Response([GeminiReplies.TextPart("cached answer")], usage: GeminiReplies.Usage(10, 5, thoughts: 7, cached: 4))]));

        ChatTokenUsage? usage = null;
        await foreach (var update in OpenAISdk.ChatClient(_gateway, Id("flash")).CompleteChatStreamingAsync(
            [new UserChatMessage("Hi")], cancellationToken: Ct))
        {
            usage = update.Usage ?? usage;
        }

        Assert.NotNull(usage);
        Assert.Equal(4, usage.InputTokenDetails.CachedTokenCount);
        Assert.Equal(7, usage.OutputTokenDetails.ReasoningTokenCount);
    }

    [Fact]
    public async Task An_openai_upstream_s_system_fingerprint_is_carried_through()
    {
        var body = OpenAIReplies.CompletionBody("fingerprinted", Id("gpt"));
        body["system_fingerprint"] = "fp_0123abcd";
        body["usage"]!["prompt_tokens_details"] = new JsonObject { ["cached_tokens"] = 3 };
        body["usage"]!["completion_tokens_details"] = new JsonObject { ["reasoning_tokens"] = 2 };
        _openAI.Enqueue(FakeReply.Json(body.ToJsonString()));

        var completion = (await OpenAISdk.ChatClient(_gateway, Id("gpt")).CompleteChatAsync([new UserChatMessage("Hi")], cancellationToken: Ct)).Value;

        Assert.Equal("fingerprinted", completion.Content[0].Text);
        Assert.Equal("fp_0123abcd", completion.SystemFingerprint);
        Assert.Equal(3, completion.Usage.InputTokenDetails.CachedTokenCount);
        // OpenAI's completion_tokens already hold its reasoning tokens: counted once.
        Assert.Equal(3, completion.Usage.OutputTokenCount);
        Assert.Equal(2, completion.Usage.OutputTokenDetails.ReasoningTokenCount);
    }

    [Theory]
    [InlineData("lite", "MINIMAL")]
    [InlineData("flash", "LOW")]
    public async Task Minimal_reasoning_effort_is_gemini_s_MINIMAL_where_the_model_has_it(string model, string level)
    {
        var (response, _) = await OpenAISdk.PostAsync(_gateway, new
        {
            model = Id(model),
            messages = new[] { new { role = "user", content = "Hi" } },
            reasoning_effort = "minimal",
        });

        Assert.True(response.IsSuccessStatusCode);
        var sent = _gemini.Requests.Single(r => r.Model == Id(model)).Json;
        Assert.Equal(level, (string?)sent["generationConfig"]?["thinkingConfig"]?["thinkingLevel"]);
    }
}
