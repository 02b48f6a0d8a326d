using System.ClientModel;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ai.Gateway.Tests.Fakes;
using Ai.Gateway.Tests.Policy;
using OpenAI.Chat;

namespace Ai.Gateway.Tests.OpenAICompat;

/// <summary>
/// The official OpenAI .NET SDK driving the gateway through what an OpenAI client does, one conformance suite: list and
/// retrieve models, chat, streaming with usage, a tool round trip, json_schema output, and the errors an SDK must be
/// able to read (status, error type and code, Retry-After, x-should-retry).
/// </summary>
public sealed class OpenAISdkConformanceTests(RedisFixture redis) : IAsyncLifetime
{
    private FakeGeminiServer _gemini = null!;
    private PolicyGateway _gateway = null!;

    public async ValueTask InitializeAsync()
    {
        _gemini = await FakeGeminiServer.StartNewAsync();
        _gateway = await PolicyGateway.StartAsync(redis, _gemini,
            [new TestModel("main"), new TestModel("local", Provider: "offline"), new TestModel("limited", Burst: 1, Qps: 0.001)]);
    }

    public async ValueTask DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _gemini.DisposeAsync();
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Id(string name) => _gateway.Id(name);

    [Fact]
    public async Task Models_list_and_retrieve_work_with_the_sdk()
    {
        var models = OpenAISdk.Client(_gateway).GetOpenAIModelClient();

        var list = (await models.GetModelsAsync(Ct)).Value;
        var one = (await models.GetModelAsync(Id("local"), Ct)).Value;

        Assert.Contains(Id("local"), list.Select(m => m.Id));
        Assert.Contains(Id("main"), list.Select(m => m.Id));
        Assert.Equal("gemini", list.Single(m => m.Id == Id("main")).OwnedBy);
        Assert.Equal(Id("local"), one.Id);
        Assert.Equal("offline", one.OwnedBy);
    }

    [Fact]
    public async Task Retrieving_an_unknown_model_is_404_model_not_found()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() => OpenAISdk.Client(_gateway).GetOpenAIModelClient().GetModelAsync("no-such-model", Ct));

        Assert.Equal(404, error.Status);
        Assert.Equal("model_not_found", OpenAISdk.Raw(error).GetProperty("error").GetProperty("code").GetString());
    }

    private const string CitySchema = """{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}""";

    private ChatClient Chat(string name) => OpenAISdk.ChatClient(_gateway, Id(name));

    [Fact]
    public async Task Chat_answers_with_openai_s_fields()
    {
        _gemini.EnqueueFor(Id("main"), GeminiReplies.Text("hello there"));

        var result = await Chat("main").CompleteChatAsync([new SystemChatMessage("Be terse."), new UserChatMessage("Hi")], cancellationToken: Ct);

        var completion = result.Value;
        Assert.StartsWith("chatcmpl-", completion.Id, StringComparison.Ordinal);
        Assert.Equal(Id("main"), completion.Model);
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.Equal("hello there", completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal((10, 5, 15), (completion.Usage.InputTokenCount, completion.Usage.OutputTokenCount, completion.Usage.TotalTokenCount));
        Assert.Equal(0, completion.Usage.InputTokenDetails.CachedTokenCount);
        Assert.Equal("chat.completion", OpenAISdk.Raw(result).GetProperty("object").GetString());
    }

    [Fact]
    public async Task Streaming_delivers_deltas_a_finish_reason_and_usage()
    {
        _gemini.EnqueueFor(Id("main"), GeminiReplies.Stream(
        [
            GeminiReplies.Response([GeminiReplies.TextPart("Hel")], finishReason: null),
            GeminiReplies.Response([GeminiReplies.TextPart("lo")], finishReason: "STOP", usage: GeminiReplies.Usage(10, 5)),
        ]));

        var text = "";
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        string? id = null;
        await foreach (var update in Chat("main").CompleteChatStreamingAsync([new UserChatMessage("Hi")], cancellationToken: Ct))
        {
            id ??= update.CompletionId;
            Assert.Equal(id, update.CompletionId);
            text += string.Concat(update.ContentUpdate.Select(c => c.Text));
            finish = update.FinishReason ?? finish;
            usage = update.Usage ?? usage;
        }

        Assert.Equal("Hello", text);
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.NotNull(usage);
        Assert.Equal(15, usage.TotalTokenCount);
    }

    [Fact]
    public async Task A_tool_round_trip_works_as_with_openai()
    {
        _gemini.EnqueueFor(Id("main"),
            GeminiReplies.Parts(GeminiReplies.CallPart("get_city", new JsonObject { ["country"] = "Norway" })),
            GeminiReplies.Text("The capital is Oslo."));
        var options = new ChatCompletionOptions
        {
            Tools = { ChatTool.CreateFunctionTool("get_city", "The capital of a country", BinaryData.FromString("""{"type":"object","properties":{"country":{"type":"string"}},"required":["country"]}""")) },
            ToolChoice = ChatToolChoice.CreateAutoChoice(),
        };
        List<ChatMessage> messages = [new UserChatMessage("Capital of Norway?")];

        var first = (await Chat("main").CompleteChatAsync(messages, options, Ct)).Value;
        var call = Assert.Single(first.ToolCalls);
        messages.Add(new AssistantChatMessage(first));
        messages.Add(new ToolChatMessage(call.Id, "Oslo"));
        var second = (await Chat("main").CompleteChatAsync(messages, options, Ct)).Value;

        Assert.Equal(ChatFinishReason.ToolCalls, first.FinishReason);
        Assert.Equal("get_city", call.FunctionName);
        Assert.Equal("Norway", JsonDocument.Parse(call.FunctionArguments).RootElement.GetProperty("country").GetString());
        Assert.Equal("The capital is Oslo.", second.Content[0].Text);
        Assert.Equal("get_city", (string?)_gemini.Requests[1].Json["contents"]![2]!["parts"]![0]!["functionResponse"]!["name"]);
    }

    [Fact]
    public async Task A_json_schema_answer_is_the_checked_json()
    {
        _gemini.EnqueueFor(Id("main"), GeminiReplies.Text("""{"city":"Oslo"}"""));
        var options = new ChatCompletionOptions
        {
            ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("place", BinaryData.FromString(CitySchema), jsonSchemaIsStrict: true),
        };

        var completion = (await Chat("main").CompleteChatAsync([new UserChatMessage("A city?")], options, Ct)).Value;

        Assert.Equal("Oslo", JsonDocument.Parse(completion.Content[0].Text).RootElement.GetProperty("city").GetString());
        Assert.Equal("application/json", (string?)_gemini.Requests[0].Json["generationConfig"]!["responseMimeType"]);
    }

    [Fact]
    public async Task Errors_carry_status_type_code_and_retry_hints_the_sdk_reads()
    {
        var wrongKey = await Assert.ThrowsAsync<ClientResultException>(() =>
            OpenAISdk.ChatClient(_gateway, Id("main"), apiKey: "not-the-key-0123456789").CompleteChatAsync([new UserChatMessage("Hi")], cancellationToken: Ct));
        var unknown = await Assert.ThrowsAsync<ClientResultException>(() =>
            OpenAISdk.ChatClient(_gateway, "no-such-model").CompleteChatAsync([new UserChatMessage("Hi")], cancellationToken: Ct));
        var invalid = await Assert.ThrowsAsync<ClientResultException>(() =>
            Chat("main").CompleteChatAsync([new UserChatMessage("Hi")], new ChatCompletionOptions { Temperature = 5 }, Ct));
        await Chat("limited").CompleteChatAsync([new UserChatMessage("first")], cancellationToken: Ct);
        var limited = await Assert.ThrowsAsync<ClientResultException>(() => Chat("limited").CompleteChatAsync([new UserChatMessage("second")], cancellationToken: Ct));
        _gemini.EnqueueFor(Id("main"), GeminiReplies.Error(503, "UNAVAILABLE", "a"), GeminiReplies.Error(503, "UNAVAILABLE", "b"), GeminiReplies.Error(503, "UNAVAILABLE", "c"));
        var failed = await Assert.ThrowsAsync<ClientResultException>(() => Chat("main").CompleteChatAsync([new UserChatMessage("Hi")], cancellationToken: Ct));

        static (int, string?, string?) Shape(ClientResultException e)
        {
            var error = OpenAISdk.Raw(e).GetProperty("error");
            return (e.Status, error.GetProperty("type").GetString(), error.TryGetProperty("code", out var code) ? code.GetString() : null);
        }

        Assert.Equal((401, "authentication_error", "invalid_api_key"), Shape(wrongKey));
        Assert.Equal((404, "not_found_error", "model_not_found"), Shape(unknown));
        Assert.Equal((400, "invalid_request_error", "invalid_value"), Shape(invalid));
        Assert.Equal((429, "rate_limit_error", "rate_limit_exceeded"), Shape(limited));
        Assert.True(limited.GetRawResponse()!.Headers.TryGetValue("Retry-After", out _));
        Assert.Equal((502, "server_error", "upstream_error"), Shape(failed));
        Assert.True(failed.GetRawResponse()!.Headers.TryGetValue("x-should-retry", out var shouldRetry));
        Assert.Equal("false", shouldRetry);
    }
}
