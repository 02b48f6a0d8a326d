using System.Net;
using System.Text;
using System.Text.Json;
using Ai.Gateway.Tests.Fakes;
using Ai.Gateway.Tests.Policy;

namespace Ai.Gateway.Tests.OpenAICompat;

/// <summary>How a chat-completions body is checked and mapped onto the provider request.</summary>
public sealed class ChatCompletionsRequestTests(RedisFixture redis) : IAsyncLifetime
{
    private FakeGeminiServer _gemini = null!;
    private PolicyGateway _gateway = null!;

    public async ValueTask InitializeAsync()
    {
        _gemini = await FakeGeminiServer.StartNewAsync();
        _gateway = await PolicyGateway.StartAsync(redis, _gemini, [new TestModel("primary")]);
    }

    public async ValueTask DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _gemini.DisposeAsync();
    }

    private const string User = """{"role":"user","content":"Hi"}""";
    private const string Weather = """{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}""";
    private const string AskedForWeather = """{"role":"assistant","tool_calls":[{"id":"call-1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]}""";

    public static TheoryData<string, string> BadRequests => new()
    {
        { """{}""", "messages" },
        { """{"messages":[]}""", "messages" },
        { """{"messages":[{"role":"robot","content":"x"}]}""", "messages[0].role" },
        { """{"messages":[{"content":"x"}]}""", "messages[0].role" },
        { """{"messages":[{"role":"user"}]}""", "messages[0].content" },
        { """{"messages":[{"role":"user","content":42}]}""", "messages[0].content" },
        { """{"messages":[{"role":"user","content":[{"type":"audio_file"}]}]}""", "messages[0].content[0].type" },
        { """{"messages":[{"role":"assistant"}]}""", "messages[0].content" },
        { $$$"""{"messages":[{{{User}}},{"role":"tool","content":"sunny"}]}""", "messages[1].tool_call_id" },
        { $$$"""{"messages":[{{{User}}},{"role":"tool","tool_call_id":"call-9","content":"sunny"}]}""", "messages[1].tool_call_id" },
        { $$$"""{"messages":[{{{User}}},{{{AskedForWeather}}},{"role":"tool","tool_call_id":"call-1"}]}""", "messages[2].content" },
        { $$$"""{"messages":[{{{User}}},{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{oops"}}]}]}""", "messages[1].tool_calls[0].function.arguments" },
        { $$$"""{"messages":[{{{User}}},{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}]}""", "messages[1].tool_calls[0].id" },
        { $$$"""{"messages":[{{{User}}}],"temperature":3}""", "temperature" },
        { $$$"""{"messages":[{{{User}}}],"temperature":"warm"}""", "temperature" },
        { $$$"""{"messages":[{{{User}}}],"max_tokens":0}""", "max_tokens" },
        { $$$"""{"messages":[{{{User}}}],"colour":"red"}""", "colour" },
        { $$$"""{"messages":[{{{User}}}],"n":2}""", "n" },
        { $$$"""{"messages":[{{{User}}}],"stop":[1,2]}""", "stop" },
        { $$$"""{"messages":[{{{User}}}],"tools":[{"type":"function","function":{"name":"has space"}}]}""", "tools[0].function.name" },
        { $$$$"""{"messages":[{{{{User}}}}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"no-such-type"}}}]}""", "tools[0].function.parameters" },
        { $$$$"""{"messages":[{{{{User}}}}],"tools":[{{{{Weather}}}}],"tool_choice":{"type":"function","function":{"name":"other"}}}""", "tool_choice" },
        { $$$"""{"messages":[{{{User}}}],"tool_choice":"required"}""", "tool_choice" },
        { $$$"""{"messages":[{{{User}}}],"response_format":{"type":"json_schema"}}""", "response_format.json_schema" },
        { $$$"""{"messages":[{{{User}}}],"response_format":{"type":"xml"}}""", "response_format.type" },
        { $$$"""{"messages":[{{{User}}}],"functions":[{"name":"f"}]}""", "functions" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task A_bad_request_is_400_naming_the_field_and_reaches_no_provider(string body, string param)
    {
        var (response, text) = await OpenAISdk.PostAsync(_gateway, body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var json = JsonDocument.Parse(text).RootElement;
        var error = json.GetProperty("error");
        Assert.True(param == error.GetProperty("param").GetString(), text);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.True(json.GetProperty("errors").TryGetProperty(param, out _), text);
        Assert.Equal(400, json.GetProperty("status").GetInt32());
        Assert.Empty(_gemini.Requests);
    }

    [Theory]
    [InlineData("{not json", "application/json", 400)]
    [InlineData("[1,2]", "application/json", 400)]
    [InlineData("""{"messages":[]}""", "text/plain", 415)]
    public async Task A_body_that_is_not_a_json_object_gets_an_openai_error(string body, string contentType, int status)
    {
        using var content = new StringContent(body, Encoding.UTF8, contentType);
        var response = await _gateway.Client.PostAsync("/v1/chat/completions", content, TestContext.Current.CancellationToken);

        Assert.Equal(status, (int)response.StatusCode);
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement;
        Assert.Equal("invalid_request_error", json.GetProperty("error").GetProperty("type").GetString());
        Assert.Empty(_gemini.Requests);
    }

    [Fact]
    public async Task Without_an_api_key_the_answer_is_401_with_an_openai_error()
    {
        using var anonymous = new HttpClient { BaseAddress = _gateway.Client.BaseAddress };
        using var content = new StringContent($$$"""{"messages":[{{{User}}}]}""", Encoding.UTF8, "application/json");

        var response = await anonymous.PostAsync("/v1/chat/completions", content, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement.GetProperty("error");
        Assert.Equal("authentication_error", error.GetProperty("type").GetString());
        Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
        Assert.Empty(_gemini.Requests);
    }

    [Fact]
    public async Task Roles_tool_choice_and_sampling_fields_reach_the_provider_request()
    {
        _gemini.EnqueueFor(_gateway.Id("primary"), GeminiReplies.Text("done"));
        var body = $$$"""
            {
              "messages": [
                {"role":"developer","content":"Be brief."},
                {"role":"user","content":[{"type":"text","text":"Look at "},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},{"type":"image_url","image_url":{"url":"https://example.com/cat.jpg"}}]},
                {{{AskedForWeather}}},
                {"role":"tool","tool_call_id":"call-1","content":[{"type":"text","text":"sunny"}]}
              ],
              "tools": [{{{Weather}}}],
              "tool_choice": {"type":"function","function":{"name":"get_weather"}},
              "top_p": 0.5, "seed": 7, "presence_penalty": 0.25, "max_completion_tokens": 64, "stop": "END",
              "reasoning_effort": "low", "user": "someone", "parallel_tool_calls": false
            }
            """;

        var (response, text) = await OpenAISdk.PostAsync(_gateway, body);

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var sent = Assert.Single(_gemini.Requests).Json;
        Assert.Equal("Be brief.", sent["systemInstruction"]!["parts"]![0]!["text"]!.GetValue<string>());
        var turns = sent["contents"]!.AsArray();
        Assert.Equal(["user", "model", "user"], turns.Select(t => t!["role"]!.GetValue<string>()));
        Assert.Equal("Look at ", turns[0]!["parts"]![0]!["text"]!.GetValue<string>());
        Assert.Equal("image/png", turns[0]!["parts"]![1]!["inlineData"]!["mimeType"]!.GetValue<string>());
        Assert.Equal(("https://example.com/cat.jpg", "image/jpeg"),
            (turns[0]!["parts"]![2]!["fileData"]!["fileUri"]!.GetValue<string>(), turns[0]!["parts"]![2]!["fileData"]!["mimeType"]!.GetValue<string>()));
        Assert.Equal("call-1", turns[1]!["parts"]![0]!["functionCall"]!["id"]!.GetValue<string>());
        var result = turns[2]!["parts"]![0]!["functionResponse"]!;
        Assert.Equal(("get_weather", "call-1", "sunny"),
            (result["name"]!.GetValue<string>(), result["id"]!.GetValue<string>(), result["response"]!["output"]!.GetValue<string>()));
        var calling = sent["toolConfig"]!["functionCallingConfig"]!;
        Assert.Equal("ANY", calling["mode"]!.GetValue<string>());
        Assert.Equal("get_weather", calling["allowedFunctionNames"]![0]!.GetValue<string>());
        var config = sent["generationConfig"]!;
        Assert.Equal(0.5, config["topP"]!.GetValue<double>());
        Assert.Equal(7, config["seed"]!.GetValue<int>());
        Assert.Equal(0.25, config["presencePenalty"]!.GetValue<double>());
        Assert.Equal(64, config["maxOutputTokens"]!.GetValue<int>());
        Assert.Equal("END", config["stopSequences"]![0]!.GetValue<string>());
        Assert.Equal("LOW", config["thinkingConfig"]!["thinkingLevel"]!.GetValue<string>());
    }
}
