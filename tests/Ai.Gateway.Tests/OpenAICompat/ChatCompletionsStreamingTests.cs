using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ai.Gateway.Tests.Fakes;
using Ai.Gateway.Tests.Policy;
using OpenAI.Chat;

namespace Ai.Gateway.Tests.OpenAICompat;

/// <summary><c>stream: true</c>: chat.completion.chunk events through the OpenAI SDK and on the wire.</summary>
public sealed class ChatCompletionsStreamingTests(RedisFixture redis) : IAsyncLifetime
{
    private FakeGeminiServer _gemini = null!;
    private PolicyGateway _gateway = null!;

    public async ValueTask InitializeAsync()
    {
        _gemini = await FakeGeminiServer.StartNewAsync();
        _gateway = await PolicyGateway.StartAsync(redis, _gemini,
            [new TestModel("primary", Fallbacks: ["second"]), new TestModel("second"), new TestModel("local", Provider: "offline")],
            // A stream that goes quiet this long after its first event is a failed stream.
            new Dictionary<string, string?> { ["Gemini:RequestTimeout"] = "00:00:01" });
    }

    public async ValueTask DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _gemini.DisposeAsync();
    }

    private string Id(string name) => _gateway.Id(name);

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static JsonObject Chunk(string text, string? finishReason = null, JsonObject? usage = null) =>
        GeminiReplies.Response([GeminiReplies.TextPart(text)], finishReason, usage);

    [Fact]
    public async Task The_sdk_stream_concatenates_to_the_answer_with_finish_reason_and_usage()
    {
        _gemini.EnqueueFor(Id("primary"), GeminiReplies.Stream([Chunk("Hel"), Chunk("lo "), Chunk("world", "STOP", GeminiReplies.Usage(10, 5))]));

        var text = new StringBuilder();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        var models = new HashSet<string>();
        await foreach (var update in OpenAISdk.ChatClient(_gateway, Id("primary")).CompleteChatStreamingAsync([new UserChatMessage("Hi")], cancellationToken: Cancel))
        {
            text.Append(string.Concat(update.ContentUpdate.Select(p => p.Text)));
            finish = update.FinishReason ?? finish;
            usage = update.Usage ?? usage;
            models.Add(update.Model);
        }

        Assert.Equal("Hello world", text.ToString());
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.NotNull(usage);
        Assert.Equal((10, 5, 15), (usage.InputTokenCount, usage.OutputTokenCount, usage.TotalTokenCount));
        Assert.Equal([Id("primary")], models);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_wire_format_is_role_first_then_deltas_a_finish_chunk_optional_usage_and_DONE(bool includeUsage)
    {
        var request = $$"""{"model":"{{Id("local")}}","messages":[{"role":"user","content":"Plan the release. Then write the notes. Then tell the team."}]""";
        var (_, unary) = await OpenAISdk.PostAsync(_gateway, request + "}");

        var streamOptions = includeUsage ? """{"include_usage":true}""" : """{"include_usage":false}""";
        var (response, body) = await OpenAISdk.PostAsync(_gateway, request + ""","stream":true,"stream_options":""" + streamOptions + "}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = OpenAISdk.Events(body);
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events.SkipLast(1).Select(e => JsonDocument.Parse(e).RootElement).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.Single(chunks.Select(c => c.GetProperty("id").GetString()).Distinct());
        Assert.All(chunks, c => Assert.Equal("offline", c.GetProperty("model").GetString()));

        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        var withChoices = chunks.Where(c => c.GetProperty("choices").GetArrayLength() > 0).ToList();
        var content = string.Concat(withChoices.Select(c => c.GetProperty("choices")[0].GetProperty("delta"))
            .Select(d => d.TryGetProperty("content", out var piece) ? piece.GetString() : ""));
        Assert.Equal(JsonDocument.Parse(unary).RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(), content);
        Assert.True(withChoices.Count > 3, "the offline model streams a few words per chunk");

        var finish = withChoices[^1].GetProperty("choices")[0];
        Assert.Equal("stop", finish.GetProperty("finish_reason").GetString());
        Assert.All(withChoices.SkipLast(1), c => Assert.Equal(JsonValueKind.Null, c.GetProperty("choices")[0].GetProperty("finish_reason").ValueKind));
        Assert.All(withChoices, c => Assert.False(c.TryGetProperty("usage", out _)));

        var last = chunks[^1];
        Assert.Equal(includeUsage, last.GetProperty("choices").GetArrayLength() == 0);
        Assert.Equal(includeUsage, last.TryGetProperty("usage", out var usage));
        if (includeUsage)
        {
            Assert.True(usage.GetProperty("completion_tokens").GetInt64() > 0);
            Assert.Equal(usage.GetProperty("prompt_tokens").GetInt64() + usage.GetProperty("completion_tokens").GetInt64(), usage.GetProperty("total_tokens").GetInt64());
        }

        Assert.Equal([(Id("local"), "succeeded")], OpenAISdk.Attempts(last.GetProperty("x_gateway")));
    }

    [Fact]
    public async Task Streamed_tool_calls_arrive_as_deltas_with_index_id_name_and_arguments()
    {
        _gemini.EnqueueFor(Id("primary"), GeminiReplies.Stream(
        [
            GeminiReplies.Response([GeminiReplies.CallPart("get_weather", new JsonObject { ["city"] = "Paris" }, id: "call-7")], "STOP", GeminiReplies.Usage(12, 4)),
        ]));
        var options = new ChatCompletionOptions
        {
            Tools = { ChatTool.CreateFunctionTool("get_weather", "The weather in a city", BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}}}""")) },
        };

        var calls = new List<StreamingChatToolCallUpdate>();
        ChatFinishReason? finish = null;
        await foreach (var update in OpenAISdk.ChatClient(_gateway, Id("primary")).CompleteChatStreamingAsync([new UserChatMessage("Weather in Paris?")], options, Cancel))
        {
            calls.AddRange(update.ToolCallUpdates);
            finish = update.FinishReason ?? finish;
        }

        var call = Assert.Single(calls);
        Assert.Equal(0, call.Index);
        Assert.Equal("call-7", call.ToolCallId);
        Assert.Equal("get_weather", call.FunctionName);
        Assert.Equal("""{"city":"Paris"}""", call.FunctionArgumentsUpdate.ToString());
        Assert.Equal(ChatFinishReason.ToolCalls, finish);
    }

    [Fact]
    public async Task A_stream_falls_back_before_its_first_chunk_and_names_the_model_that_answered()
    {
        _gemini.EnqueueFor(Id("primary"), GeminiReplies.Error(404, "NOT_FOUND", "retired"));
        _gemini.EnqueueFor(Id("second"), GeminiReplies.Stream([Chunk("from the fallback", "STOP", GeminiReplies.Usage(3, 3))]));

        var (_, body) = await OpenAISdk.PostAsync(_gateway, $$"""{"model":"{{Id("primary")}}","stream":true,"messages":[{"role":"user","content":"Hi"}]}""");

        var chunks = OpenAISdk.Events(body).SkipLast(1).Select(e => JsonDocument.Parse(e).RootElement).ToList();
        Assert.All(chunks, c => Assert.Equal(Id("second"), c.GetProperty("model").GetString()));
        var gateway = chunks[^1].GetProperty("x_gateway");
        Assert.Equal([Id("second")], gateway.GetProperty("fallbacks").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal([(Id("primary"), "failed"), (Id("second"), "succeeded")], OpenAISdk.Attempts(gateway));
    }

    [Fact]
    public async Task A_failure_before_the_first_chunk_is_an_ordinary_http_error()
    {
        _gemini.DefaultReply = GeminiReplies.Error(400, "INVALID_ARGUMENT", "bad");

        var error = await Assert.ThrowsAsync<ClientResultException>(async () =>
        {
            await foreach (var _ in OpenAISdk.ChatClient(_gateway, Id("primary")).CompleteChatStreamingAsync([new UserChatMessage("Hi")], cancellationToken: Cancel))
            {
            }
        });

        Assert.Equal(502, error.Status);
        Assert.Equal("application/problem+json", error.GetRawResponse()!.Headers.TryGetValue("Content-Type", out var type) ? type!.Split(';')[0] : null);
        Assert.Equal("upstream_error", OpenAISdk.Raw(error).GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_failure_after_the_first_chunk_ends_the_stream_with_an_error_event_and_no_DONE()
    {
        _gemini.EnqueueFor(Id("primary"), GeminiReplies.Stream([Chunk("partial ")], thenStall: true));

        var (response, body) = await OpenAISdk.PostAsync(_gateway, $$"""{"model":"{{Id("primary")}}","stream":true,"messages":[{"role":"user","content":"Hi"}]}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var events = OpenAISdk.Events(body);
        Assert.Contains(events, e => e.Contains("\"content\":\"partial \"", StringComparison.Ordinal));
        Assert.DoesNotContain("[DONE]", events);
        var error = JsonDocument.Parse(events[^1]).RootElement.GetProperty("error");
        Assert.Equal("server_error", error.GetProperty("type").GetString());
        Assert.Equal("upstream_error", error.GetProperty("code").GetString());
        // Committed to the first model: no fallback once tokens reached the client.
        Assert.Single(_gemini.Requests);
    }
}
