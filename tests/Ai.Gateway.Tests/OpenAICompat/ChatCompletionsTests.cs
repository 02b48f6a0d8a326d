using System.ClientModel;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ai.Gateway.Tests.Fakes;
using Ai.Gateway.Tests.Policy;
using OpenAI.Chat;
using AI = Microsoft.Extensions.AI;

namespace Ai.Gateway.Tests.OpenAICompat;

/// <summary>The official OpenAI SDK against the real gateway: answers, tools, JSON, fallback and errors.</summary>
public sealed class ChatCompletionsTests(RedisFixture redis) : IAsyncLifetime
{
    private const string WeatherSchema = """{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}""";
    private FakeGeminiServer _gemini = null!;
    private PolicyGateway _gateway = null!;

    public async ValueTask InitializeAsync()
    {
        _gemini = await FakeGeminiServer.StartNewAsync();
        _gateway = await PolicyGateway.StartAsync(redis, _gemini,
        [
            new TestModel("primary", Fallbacks: ["second"]),
            new TestModel("second"),
            new TestModel("local", Provider: "offline"),
            new TestModel("limited", Burst: 1, Qps: 0.001),
        ]);
    }

    public async ValueTask DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _gemini.DisposeAsync();
    }

    private string Id(string name) => _gateway.Id(name);

    private ChatClient Client(string name) => OpenAISdk.ChatClient(_gateway, Id(name));

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_offline_provider_answers_and_says_so()
    {
        var result = await Client("local").CompleteChatAsync([new UserChatMessage("Summarise the plan.")], cancellationToken: Cancel);

        var completion = result.Value;
        Assert.StartsWith("Offline answer", completion.Content[0].Text, StringComparison.Ordinal);
        Assert.Equal("offline", completion.Model);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.StartsWith("chatcmpl-", completion.Id, StringComparison.Ordinal);
        Assert.InRange(completion.CreatedAt, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.True(completion.Usage.InputTokenCount > 0 && completion.Usage.OutputTokenCount > 0);
        Assert.Equal(completion.Usage.InputTokenCount + completion.Usage.OutputTokenCount, completion.Usage.TotalTokenCount);
        var raw = OpenAISdk.Raw(result);
        Assert.Equal("chat.completion", raw.GetProperty("object").GetString());
        Assert.Equal([(Id("local"), "succeeded")], OpenAISdk.Attempts(raw.GetProperty("x_gateway")));
        Assert.Equal(0m, raw.GetProperty("x_gateway").GetProperty("costUsd").GetDecimal());
        Assert.Empty(_gemini.Requests);
    }

    [Fact]
    public async Task A_gemini_answer_comes_back_with_model_usage_and_cost()
    {
        _gemini.EnqueueFor(Id("primary"), GeminiReplies.Text("hello there"));

        var result = await Client("primary").CompleteChatAsync(
            [new SystemChatMessage("You are terse."), new UserChatMessage("Hi")],
            new ChatCompletionOptions { Temperature = 0.2f, MaxOutputTokenCount = 50, StopSequences = { "END" } }, Cancel);

        var completion = result.Value;
        Assert.Equal("hello there", completion.Content[0].Text);
        Assert.Equal(Id("primary"), completion.Model);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal((10, 5, 15), (completion.Usage.InputTokenCount, completion.Usage.OutputTokenCount, completion.Usage.TotalTokenCount));
        var gateway = OpenAISdk.Gateway(result);
        // 10 input tokens at $1/M + 5 output tokens at $2/M.
        Assert.Equal(0.00002m, gateway.GetProperty("costUsd").GetDecimal());
        Assert.Equal(Id("primary"), gateway.GetProperty("route").GetProperty("model").GetString());

        var sent = Assert.Single(_gemini.Requests).Json;
        Assert.Equal("You are terse.", sent["systemInstruction"]!["parts"]![0]!["text"]!.GetValue<string>());
        Assert.Equal("Hi", sent["contents"]![0]!["parts"]![0]!["text"]!.GetValue<string>());
        var config = sent["generationConfig"]!;
        Assert.Equal(0.2, config["temperature"]!.GetValue<double>(), 3);
        Assert.Equal(50, config["maxOutputTokens"]!.GetValue<int>());
        Assert.Equal("END", config["stopSequences"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task Model_auto_goes_to_the_routers_default()
    {
        var result = await OpenAISdk.ChatClient(_gateway, "auto").CompleteChatAsync([new UserChatMessage("Hi")], cancellationToken: Cancel);

        Assert.Equal(Id("primary"), Assert.Single(_gemini.Requests).Model);
        Assert.Equal("default model", OpenAISdk.Gateway(result).GetProperty("route").GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Tool_calls_go_back_to_the_client_and_its_tool_result_reaches_the_model()
    {
        _gemini.EnqueueFor(Id("primary"),
            GeminiReplies.Parts(GeminiReplies.CallPart("get_weather", new JsonObject { ["city"] = "Paris" })),
            GeminiReplies.Text("It is 21 °C in Paris."));
        var options = new ChatCompletionOptions
        {
            Tools = { ChatTool.CreateFunctionTool("get_weather", "The weather in a city", BinaryData.FromString(WeatherSchema)) },
        };
        List<ChatMessage> messages = [new UserChatMessage("What is the weather in Paris?")];

        var first = (await Client("primary").CompleteChatAsync(messages, options, Cancel)).Value;

        Assert.Equal(ChatFinishReason.ToolCalls, first.FinishReason);
        var call = Assert.Single(first.ToolCalls);
        Assert.Equal("get_weather", call.FunctionName);
        Assert.Equal("Paris", JsonDocument.Parse(call.FunctionArguments).RootElement.GetProperty("city").GetString());
        Assert.False(string.IsNullOrEmpty(call.Id));
        var declared = _gemini.Requests[0].Json["tools"]![0]!["functionDeclarations"]![0]!;
        Assert.Equal("get_weather", declared["name"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(WeatherSchema), declared["parametersJsonSchema"]));

        messages.Add(new AssistantChatMessage(first));
        messages.Add(new ToolChatMessage(call.Id, """{"tempC":21}"""));
        var second = (await Client("primary").CompleteChatAsync(messages, options, Cancel)).Value;

        Assert.Equal("It is 21 °C in Paris.", second.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, second.FinishReason);
        // The gateway ran no tool: the model was called once per client request.
        Assert.Equal(2, _gemini.Requests.Count);
        var turns = _gemini.Requests[1].Json["contents"]!.AsArray();
        Assert.Equal("get_weather", turns[1]!["parts"]![0]!["functionCall"]!["name"]!.GetValue<string>());
        var response = turns[2]!["parts"]![0]!["functionResponse"]!;
        Assert.Equal("get_weather", response["name"]!.GetValue<string>());
        Assert.Equal("""{"tempC":21}""", response["response"]!["output"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_json_schema_format_reaches_the_model_and_the_answer_is_the_checked_json()
    {
        _gemini.EnqueueFor(Id("primary"), GeminiReplies.Text("```json\n{\"city\":\"Oslo\"}\n```"));
        var options = new ChatCompletionOptions
        {
            ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("place", BinaryData.FromString(WeatherSchema), jsonSchemaIsStrict: true),
        };

        var completion = (await Client("primary").CompleteChatAsync([new UserChatMessage("Name a city.")], options, Cancel)).Value;

        Assert.Equal("""{"city":"Oslo"}""", completion.Content[0].Text);
        var config = Assert.Single(_gemini.Requests).Json["generationConfig"]!;
        Assert.Equal("application/json", config["responseMimeType"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(WeatherSchema), config["responseJsonSchema"]));
    }

    [Fact]
    public async Task An_answer_that_breaks_the_schema_is_repaired_once()
    {
        _gemini.EnqueueFor(Id("primary"), GeminiReplies.Text("""{"town":"Oslo"}"""), GeminiReplies.Text("""{"city":"Oslo"}"""));
        var options = new ChatCompletionOptions
        {
            ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("place", BinaryData.FromString(WeatherSchema)),
        };

        var result = await Client("primary").CompleteChatAsync([new UserChatMessage("Name a city.")], options, Cancel);

        Assert.Equal("""{"city":"Oslo"}""", result.Value.Content[0].Text);
        Assert.Equal(2, _gemini.Requests.Count);
        Assert.Contains("/city", _gemini.Requests[1].Body, StringComparison.Ordinal);
        Assert.Equal(2, OpenAISdk.Gateway(result).GetProperty("attempts").GetArrayLength());
    }

    [Fact]
    public async Task A_fallback_answers_when_the_primary_fails_and_x_gateway_shows_it()
    {
        _gemini.EnqueueFor(Id("primary"), GeminiReplies.Error(404, "NOT_FOUND", "retired"));
        _gemini.EnqueueFor(Id("second"), GeminiReplies.Text("from the fallback"));

        var result = await Client("primary").CompleteChatAsync([new UserChatMessage("Hi")], cancellationToken: Cancel);

        Assert.Equal("from the fallback", result.Value.Content[0].Text);
        Assert.Equal(Id("second"), result.Value.Model);
        var gateway = OpenAISdk.Gateway(result);
        Assert.Equal([Id("second")], gateway.GetProperty("fallbacks").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal([(Id("primary"), "failed"), (Id("second"), "succeeded")], OpenAISdk.Attempts(gateway));
        Assert.Equal(404, gateway.GetProperty("attempts")[0].GetProperty("statusCode").GetInt32());
    }

    [Fact]
    public async Task A_shared_rate_limit_surfaces_as_a_429_with_retry_after()
    {
        var client = Client("limited");
        await client.CompleteChatAsync([new UserChatMessage("first")], cancellationToken: Cancel);

        var error = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync([new UserChatMessage("second")], cancellationToken: Cancel));

        Assert.Equal(429, error.Status);
        Assert.True(error.GetRawResponse()!.Headers.TryGetValue("Retry-After", out var retryAfter));
        Assert.True(int.Parse(retryAfter!, System.Globalization.CultureInfo.InvariantCulture) >= 1);
        var body = OpenAISdk.Raw(error).GetProperty("error");
        Assert.Equal("rate_limit_error", body.GetProperty("type").GetString());
        Assert.Equal("rate_limit_exceeded", body.GetProperty("code").GetString());
        Assert.Single(_gemini.Requests);
    }

    [Fact]
    public async Task When_every_model_fails_the_sdk_sees_a_502()
    {
        _gemini.DefaultReply = GeminiReplies.Error(400, "INVALID_ARGUMENT", "bad");

        var error = await Assert.ThrowsAsync<ClientResultException>(() => Client("primary").CompleteChatAsync([new UserChatMessage("Hi")], cancellationToken: Cancel));

        Assert.Equal(502, error.Status);
        var body = OpenAISdk.Raw(error);
        Assert.Equal("server_error", body.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal(2, body.GetProperty("attempts").GetArrayLength());
    }

    [Fact]
    public async Task An_unknown_model_is_404_model_not_found_as_openai_answers_it()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            OpenAISdk.ChatClient(_gateway, "no-such-model").CompleteChatAsync([new UserChatMessage("Hi")], cancellationToken: Cancel));

        Assert.Equal(404, error.Status);
        Assert.Equal("not_found_error", OpenAISdk.Raw(error).GetProperty("error").GetProperty("type").GetString());
        var body = OpenAISdk.Raw(error).GetProperty("error");
        Assert.Equal("model", body.GetProperty("param").GetString());
        Assert.Equal("model_not_found", body.GetProperty("code").GetString());
        Assert.Contains("no-such-model", error.Message, StringComparison.Ordinal);
        Assert.Empty(_gemini.Requests);
    }

    [Fact]
    public async Task A_wrong_api_key_is_a_401_with_an_openai_error()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            OpenAISdk.ChatClient(_gateway, Id("primary"), apiKey: "not-the-key-0123456789").CompleteChatAsync([new UserChatMessage("Hi")], cancellationToken: Cancel));

        Assert.Equal(401, error.Status);
        Assert.Equal("authentication_error", OpenAISdk.Raw(error).GetProperty("error").GetProperty("type").GetString());
        Assert.Empty(_gemini.Requests);
    }

    [Fact]
    public async Task A_microsoft_extensions_ai_client_works_through_the_gateway()
    {
        _gemini.EnqueueFor(Id("primary"), GeminiReplies.Text("unary answer"));
        _gemini.EnqueueFor(Id("primary"), GeminiReplies.Stream(
        [
            GeminiReplies.Response([GeminiReplies.TextPart("streamed ")], finishReason: null),
            GeminiReplies.Response([GeminiReplies.TextPart("answer")], usage: GeminiReplies.Usage(7, 2)),
        ]));
        // Spelled out: Microsoft.Extensions.AI's types would clash with OpenAI.Chat's in this file.
        using var client = AI.OpenAIClientExtensions.AsIChatClient(OpenAISdk.Client(_gateway).GetChatClient(Id("primary")));

        var response = await client.GetResponseAsync([new AI.ChatMessage(AI.ChatRole.User, "Hi")], cancellationToken: Cancel);
        var streamed = await AI.ChatResponseExtensions.ToChatResponseAsync(client.GetStreamingResponseAsync([new AI.ChatMessage(AI.ChatRole.User, "Hi again")], cancellationToken: Cancel), Cancel);

        Assert.Equal("unary answer", response.Text);
        Assert.Equal(15, response.Usage?.TotalTokenCount);
        Assert.Equal("streamed answer", streamed.Text);
        Assert.Equal(AI.ChatFinishReason.Stop, streamed.FinishReason);
        Assert.Equal(9, streamed.Usage?.TotalTokenCount);
    }
}
