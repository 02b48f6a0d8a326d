using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Ai.Gateway.Tests.Fakes;

namespace Ai.Gateway.Tests.Policy;

/// <summary>/v1/generate features: the offline default, checked JSON with one repair, tools, streaming, batch, presets and formats.</summary>
public sealed class GenerationFeatureTests(RedisFixture redis) : IAsyncLifetime
{
    private static readonly object PersonSchema = new
    {
        type = "object",
        properties = new { name = new { type = "string" }, age = new { type = "integer", minimum = 0 } },
        required = new[] { "name", "age" },
        additionalProperties = false,
    };

    private FakeGeminiServer _gemini = null!;
    private PolicyGateway _gateway = null!;
    private PolicyGateway _offline = null!;

    public async ValueTask InitializeAsync()
    {
        _gemini = await FakeGeminiServer.StartNewAsync();
        _gateway = await PolicyGateway.StartAsync(redis, _gemini, [new TestModel("main")]);
        _offline = await PolicyGateway.StartAsync(redis, gemini: null, [new TestModel("main")]);
    }

    public async ValueTask DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _offline.DisposeAsync();
        await _gemini.DisposeAsync();
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Without_a_key_the_offline_provider_answers_and_says_so()
    {
        var (response, body) = await _offline.GenerateAsync(new { input = "Summarize: the sky is blue." });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("offline", body.GetProperty("model").GetString());
        Assert.Contains("the sky is blue", body.GetProperty("output").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(0m, body.GetProperty("costUsd").GetDecimal());
        Assert.True(body.GetProperty("usage").GetProperty("totalTokens").GetInt64() > 0);
    }

    [Fact]
    public async Task A_schema_answer_is_validated_and_returned_as_data()
    {
        var (response, body) = await _offline.GenerateAsync(new { input = "Who?", schema = PersonSchema });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var data = body.GetProperty("data");
        Assert.Equal(JsonValueKind.String, data.GetProperty("name").ValueKind);
        Assert.Equal(JsonValueKind.Number, data.GetProperty("age").ValueKind);
    }

    [Fact]
    public async Task An_invalid_json_answer_gets_one_repair_attempt_with_the_errors()
    {
        _gemini.EnqueueFor(_gateway.Id("main"), GeminiReplies.Text("""{"name": "Ada"}"""), GeminiReplies.Text("```json\n{\"name\": \"Ada\", \"age\": 36}\n```"));

        var (response, body) = await _gateway.GenerateAsync(new { input = "Who?", schema = PersonSchema });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(36, body.GetProperty("data").GetProperty("age").GetInt32());
        var repair = _gemini.Requests[1].Body;
        Assert.Contains("not valid for the requested format", repair, StringComparison.Ordinal);
        Assert.Contains("age", repair, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_second_invalid_answer_is_422_with_json_pointer_errors()
    {
        _gemini.EnqueueFor(_gateway.Id("main"), GeminiReplies.Text("""{"name": 7}"""), GeminiReplies.Text("not json at all"));

        var (response, body) = await _gateway.GenerateAsync(new { input = "Who?", schema = PersonSchema });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.NotEmpty(body.GetProperty("errors").EnumerateArray());
        Assert.Equal(2, _gemini.Requests.Count);
    }

    [Fact]
    public async Task Json_mode_accepts_any_json_and_rejects_text_after_the_repair()
    {
        _gemini.EnqueueFor(_gateway.Id("main"), GeminiReplies.Text("[1, 2, 3]"));
        var (ok, okBody) = await _gateway.GenerateAsync(new { input = "numbers", json = true });

        _gemini.EnqueueFor(_gateway.Id("main"), GeminiReplies.Text("sure!"), GeminiReplies.Text("still prose"));
        var (bad, _) = await _gateway.GenerateAsync(new { input = "numbers", json = true });

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(3, okBody.GetProperty("data").GetArrayLength());
        Assert.Equal(HttpStatusCode.UnprocessableEntity, bad.StatusCode);
    }

    [Fact]
    public async Task The_model_can_call_a_gateway_tool_and_the_call_is_reported()
    {
        var (response, body) = await _offline.GenerateAsync(new
        {
            input = """Use tool calculate {"expression": "6 * 7"}""",
            tools = new[] { "calculate" },
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var call = Assert.Single(body.GetProperty("toolCalls").EnumerateArray());
        Assert.Equal("calculate", call.GetProperty("name").GetString());
        Assert.True(call.GetProperty("ok").GetBoolean());
        Assert.Contains("42", body.GetProperty("output").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tool_arguments_are_validated_before_the_tool_runs()
    {
        _gemini.EnqueueFor(_gateway.Id("main"),
            GeminiReplies.Parts(GeminiReplies.CallPart("calculate", new System.Text.Json.Nodes.JsonObject { ["expr"] = "1+1" })),
            GeminiReplies.Text("I could not calculate that."));

        var (response, body) = await _gateway.GenerateAsync(new { input = "add", tools = new[] { "calculate" } });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(body.GetProperty("toolCalls")[0].GetProperty("ok").GetBoolean());
        // The model was told what was wrong with its arguments.
        Assert.Contains("expression", _gemini.Requests[1].Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Streaming_sends_deltas_then_a_done_event_with_the_result()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/generate") { Content = JsonContent.Create(new { input = "Tell me about streams", stream = true }) };
        using var response = await _offline.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(events, e => e.StartsWith("event: delta", StringComparison.Ordinal));
        var done = Assert.Single(events, e => e.StartsWith("event: done", StringComparison.Ordinal));
        var result = JsonDocument.Parse(done[(done.IndexOf("data: ", StringComparison.Ordinal) + 6)..]).RootElement;
        Assert.Equal("offline", result.GetProperty("model").GetString());
        var deltas = string.Concat(events.Where(e => e.StartsWith("event: delta", StringComparison.Ordinal))
            .Select(e => JsonDocument.Parse(e[(e.IndexOf("data: ", StringComparison.Ordinal) + 6)..]).RootElement.GetProperty("text").GetString()));
        Assert.Equal(result.GetProperty("output").GetString(), deltas);
    }

    [Fact]
    public async Task A_stream_that_fails_before_any_token_is_a_plain_http_error()
    {
        _gemini.DefaultReply = GeminiReplies.Error(400, "INVALID_ARGUMENT", "nope");

        var (response, body) = await _gateway.GenerateAsync(new { input = "x", stream = true });

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.True(body.TryGetProperty("attempts", out _));
    }

    [Fact]
    public async Task A_batch_keeps_request_order_and_one_failure_does_not_fail_the_batch()
    {
        var response = await _offline.Client.PostAsJsonAsync("/v1/generate/batch", new
        {
            requests = new object[] { new { input = "first" }, new { input = "second", model = "no-such-model" }, new { input = "third" } },
            concurrency = 2,
        }, Ct);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var results = body.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal([0, 1, 2], results.Select(r => r.GetProperty("index").GetInt32()));
        Assert.Equal([true, false, true], results.Select(r => r.GetProperty("ok").GetBoolean()));
        Assert.Contains("first", results[0].GetProperty("result").GetProperty("output").GetString(), StringComparison.Ordinal);
        Assert.Equal(400, results[1].GetProperty("error").GetProperty("status").GetInt32());
        Assert.Equal(2, body.GetProperty("succeeded").GetInt32());
    }

    [Fact]
    public async Task A_preset_and_a_prompt_format_build_the_conversation_by_name()
    {
        _gemini.EnqueueFor(_gateway.Id("main"), GeminiReplies.Text("""{"total": 12}"""));

        var (response, _) = await _gateway.GenerateAsync(new
        {
            preset = "json-extraction",
            language = "ar",
            prompt = new { format = "extraction", text = "المجموع ١٢ دينارًا", fields = new[] { new { name = "total", type = "number" } } },
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sent = _gemini.Requests[0].Json;
        Assert.Contains("systemInstruction", sent.ToJsonString(), StringComparison.Ordinal);
        Assert.Contains("المجموع", sent["contents"]!.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Usage_accumulates_per_model_for_the_day()
    {
        await _offline.GenerateAsync(new { input = "one" });
        await _offline.GenerateAsync(new { input = "two" });

        var usage = await _offline.Client.GetFromJsonAsync<JsonElement>("/v1/usage", Ct);

        var offline = usage.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("model").GetString() == "offline");
        Assert.True(offline.GetProperty("requests").GetInt64() >= 2);
        Assert.True(offline.GetProperty("inputTokens").GetInt64() > 0);
        using var bad = await _offline.Client.GetAsync("/v1/usage?date=yesterday", Ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task A_model_that_keeps_calling_tools_is_stopped_after_the_configured_rounds_with_its_last_text_and_a_finish_reason_that_says_so()
    {
        await using var gateway = await PolicyGateway.StartAsync(redis, _gemini, [new TestModel("loopy")],
            new Dictionary<string, string?> { ["Gateway:Policy:MaxToolIterations"] = "3" });
        _gemini.DefaultReply = GeminiReplies.Parts(GeminiReplies.TextPart("Checking once more."), GeminiReplies.CallPart("echo", new System.Text.Json.Nodes.JsonObject { ["message"] = "again" }));

        var (response, body) = await gateway.GenerateAsync(new { input = "loop", tools = new[] { "echo" } });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.InRange(_gemini.Requests.Count(r => r.Model == gateway.Id("loopy")), 3, 4);
        Assert.InRange(body.GetProperty("toolCalls").GetArrayLength(), 1, 4);
        Assert.Equal("tool_budget_exhausted", body.GetProperty("finishReason").GetString());
        Assert.Equal("Checking once more.", body.GetProperty("output").GetString());
    }

    [Fact]
    public async Task A_streamed_generation_that_runs_out_of_tool_rounds_says_so_in_its_done_event()
    {
        await using var gateway = await PolicyGateway.StartAsync(redis, _gemini, [new TestModel("loopy")],
            new Dictionary<string, string?> { ["Gateway:Policy:MaxToolIterations"] = "2" });
        _gemini.DefaultReply = GeminiReplies.Stream([GeminiReplies.Response(
            [GeminiReplies.TextPart("Checking once more."), GeminiReplies.CallPart("echo", new System.Text.Json.Nodes.JsonObject { ["message"] = "again" })],
            usage: GeminiReplies.Usage(3, 3))]);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/generate") { Content = JsonContent.Create(new { input = "loop", tools = new[] { "echo" }, stream = true }) };
        using var response = await gateway.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);

        var done = Assert.Single(text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries), e => e.StartsWith("event: done", StringComparison.Ordinal));
        var result = JsonDocument.Parse(done[(done.IndexOf("data: ", StringComparison.Ordinal) + 6)..]).RootElement;
        Assert.Equal("tool_budget_exhausted", result.GetProperty("finishReason").GetString());
        Assert.Equal("Checking once more.", result.GetProperty("output").GetString());
    }

    [Fact]
    public async Task Prompts_and_completions_stay_out_of_traces_unless_enabled()
    {
        var tags = new System.Collections.Concurrent.ConcurrentBag<string>();
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = source => source.Name == Ai.Gateway.Policy.GatewayChatClient.TelemetrySource,
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                foreach (var tag in activity.TagObjects)
                {
                    tags.Add($"{tag.Key}={tag.Value}");
                }
            },
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);

        var (response, _) = await _offline.GenerateAsync(new { input = "secret-prompt-text" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(tags, t => t.StartsWith("gen_ai.request.model=", StringComparison.Ordinal));
        Assert.DoesNotContain(tags, t => t.Contains("secret-prompt-text", StringComparison.Ordinal));
        Assert.DoesNotContain(tags, t => t.StartsWith("gen_ai.input.messages", StringComparison.Ordinal));
    }
}
