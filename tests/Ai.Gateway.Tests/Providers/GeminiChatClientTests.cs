using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ai.Gateway.Providers;
using Ai.Gateway.Providers.Gemini;
using Ai.Gateway.Tests.Fakes;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Time.Testing;

namespace Ai.Gateway.Tests.Providers;

public sealed class GeminiChatClientTests : IAsyncLifetime
{
    private FakeGeminiServer _server = null!;

    public async ValueTask InitializeAsync() => _server = await FakeGeminiServer.StartNewAsync();

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Sends_roles_system_instruction_and_generation_config_with_the_key_in_a_header()
    {
        _server.Enqueue(FakeReply.Json(GeminiReplies.Response(
            [GeminiReplies.TextPart("Hello back")], "STOP", GeminiReplies.Usage(12, 3, thoughts: 4, cached: 2)).ToJsonString()));
        using var client = _server.CreateClient("gemini-test");

        var response = await client.GetResponseAsync(
            [
                new ChatMessage(ChatRole.System, "You are terse."),
                new ChatMessage(ChatRole.User, "Hi"),
                new ChatMessage(ChatRole.Assistant, "Hello"),
                new ChatMessage(ChatRole.User, "How are you?"),
            ],
            new ChatOptions
            {
                Instructions = "Answer in English.",
                Temperature = 0.25f,
                MaxOutputTokens = 64,
                TopP = 0.9f,
                TopK = 40,
                Seed = 7,
                StopSequences = ["END"],
            },
            Ct);

        var request = Assert.Single(_server.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal("/v1beta/models/gemini-test:generateContent", request.Path);
        Assert.Equal("", request.Query);
        Assert.Equal(FakeGeminiServer.ApiKey, request.Header("x-goog-api-key"));
        Assert.DoesNotContain(FakeGeminiServer.ApiKey, request.PathAndQuery, StringComparison.Ordinal);
        Assert.DoesNotContain(FakeGeminiServer.ApiKey, request.Body, StringComparison.Ordinal);

        var body = request.Json;
        Assert.Equal(["Answer in English.", "You are terse."], Texts(body["systemInstruction"]!["parts"]!));
        var contents = body["contents"]!.AsArray();
        Assert.Equal(["user", "model", "user"], contents.Select(c => (string)c!["role"]!));
        Assert.Equal(["Hi"], Texts(contents[0]!["parts"]!));
        Assert.Equal(["How are you?"], Texts(contents[2]!["parts"]!));
        var config = body["generationConfig"]!;
        Assert.Equal(0.25, (double)config["temperature"]!, 3);
        Assert.Equal(64, (int)config["maxOutputTokens"]!);
        Assert.Equal(0.9, (double)config["topP"]!, 3);
        Assert.Equal(40, (int)config["topK"]!);
        Assert.Equal(7, (long)config["seed"]!);
        Assert.Equal(["END"], config["stopSequences"]!.AsArray().Select(s => (string)s!));
        Assert.Null(body["tools"]);

        Assert.Equal("Hello back", response.Text);
        Assert.Equal("gemini-test-001", response.ModelId);
        Assert.Equal("resp-1", response.ResponseId);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal(12, response.Usage!.InputTokenCount);
        Assert.Equal(3, response.Usage.OutputTokenCount);
        Assert.Equal(4, response.Usage.ReasoningTokenCount);
        Assert.Equal(2, response.Usage.CachedInputTokenCount);
        Assert.Equal(19, response.Usage.TotalTokenCount);
    }

    [Fact]
    public void Reports_gcp_gemini_as_its_provider()
    {
        using var client = _server.CreateClient("gemini-test");

        var metadata = client.GetService<ChatClientMetadata>();

        Assert.NotNull(metadata);
        Assert.Equal("gcp.gemini", metadata.ProviderName);
        Assert.Equal("gemini-test", metadata.DefaultModelId);
        Assert.Equal(_server.BaseAddress, metadata.ProviderUri);
        Assert.Same(client, client.GetService<GeminiChatClient>());
    }

    [Fact]
    public async Task Json_schema_output_is_requested_with_responseJsonSchema()
    {
        var schema = JsonDocument.Parse("""
            {"type":"object","properties":{"name":{"type":["string","null"]},"tags":{"type":"array","items":{"type":"string"}}},"required":["name"]}
            """).RootElement;
        _server.Enqueue(GeminiReplies.Text("""{"name":"x","tags":[]}"""));
        using var client = _server.CreateClient();

        var response = await client.GetResponseAsync("Describe", new ChatOptions { ResponseFormat = ChatResponseFormat.ForJsonSchema(schema, "thing") }, Ct);

        var config = _server.Requests[0].Json["generationConfig"]!;
        Assert.Equal("application/json", (string)config["responseMimeType"]!);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(schema.GetRawText()), config["responseJsonSchema"]));
        Assert.Null(config["responseSchema"]);
        Assert.Equal("x", JsonNode.Parse(response.Text)!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task Plain_json_mode_sets_only_the_mime_type()
    {
        using var client = _server.CreateClient();

        await client.GetResponseAsync("Describe", new ChatOptions { ResponseFormat = ChatResponseFormat.Json }, Ct);

        var config = _server.Requests[0].Json["generationConfig"]!.AsObject();
        Assert.Equal("application/json", (string)config["responseMimeType"]!);
        Assert.False(config.ContainsKey("responseJsonSchema"));
    }

    public static TheoryData<string, string, string?> ToolModes => new()
    {
        { "auto", "AUTO", null },
        { "none", "NONE", null },
        { "any", "ANY", null },
        { "specific", "ANY", "get_time" },
    };

    [Theory]
    [MemberData(nameof(ToolModes))]
    public async Task Declares_all_tools_in_one_tool_with_parametersJsonSchema_and_maps_the_tool_mode(string mode, string expectedMode, string? allowed)
    {
        var weather = AIFunctionFactory.Create((string city, int? days) => "sunny", "get_weather", "Weather for a city");
        var time = AIFunctionFactory.Create((string zone) => "noon", "get_time");
        using var client = _server.CreateClient();

        await client.GetResponseAsync("Hi", new ChatOptions
        {
            Tools = [weather, time],
            ToolMode = mode switch
            {
                "auto" => ChatToolMode.Auto,
                "none" => ChatToolMode.None,
                "any" => ChatToolMode.RequireAny,
                _ => ChatToolMode.RequireSpecific("get_time"),
            },
        }, Ct);

        var body = _server.Requests[0].Json;
        var tool = Assert.Single(body["tools"]!.AsArray())!;
        var declarations = tool["functionDeclarations"]!.AsArray();
        Assert.Equal(["get_weather", "get_time"], declarations.Select(d => (string)d!["name"]!));
        Assert.Equal("Weather for a city", (string)declarations[0]!["description"]!);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(weather.JsonSchema.GetRawText()), declarations[0]!["parametersJsonSchema"]));
        Assert.Null(declarations[0]!["parameters"]);

        var calling = body["toolConfig"]!["functionCallingConfig"]!;
        Assert.Equal(expectedMode, (string)calling["mode"]!);
        Assert.Equal(allowed, calling["allowedFunctionNames"]?.AsArray().Select(n => (string)n!).Single());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Tool_round_trip_echoes_the_thought_signature_exactly(bool streaming)
    {
        const string signature = "CiQBjz1rX3Rob3VnaHQtc2lnbmF0dXJlLWJ5dGVzLWZyb20tZ2VtaW5pLTM=";
        var call = GeminiReplies.Response(
            [GeminiReplies.CallPart("get_weather", new JsonObject { ["city"] = "Melbourne" }, id: "call-7", thoughtSignature: signature)],
            "STOP", GeminiReplies.Usage(20, 5), responseId: "r1");
        var answer = GeminiReplies.Response([GeminiReplies.TextPart("18°C and raining in Melbourne.")], "STOP", GeminiReplies.Usage(40, 9), responseId: "r2");
        _server.Enqueue(streaming ? GeminiReplies.Stream([call]) : FakeReply.Json(call.ToJsonString()));
        _server.Enqueue(streaming ? GeminiReplies.Stream([answer]) : FakeReply.Json(answer.ToJsonString()));

        string? askedCity = null;
        var weather = AIFunctionFactory.Create((string city) =>
        {
            askedCity = city;
            return "18°C, rain";
        }, "get_weather");
        using var client = new ChatClientBuilder(_server.CreateClient()).UseFunctionInvocation().Build();
        var options = new ChatOptions { Tools = [weather] };

        var text = streaming
            ? (await client.GetStreamingResponseAsync("Weather in Melbourne?", options, Ct).ToChatResponseAsync(cancellationToken: Ct)).Text
            : (await client.GetResponseAsync("Weather in Melbourne?", options, Ct)).Text;

        Assert.Equal("Melbourne", askedCity);
        Assert.Equal("18°C and raining in Melbourne.", text);
        Assert.Equal(2, _server.Requests.Count);
        var contents = _server.Requests[1].Json["contents"]!.AsArray();
        Assert.Equal(["user", "model", "user"], contents.Select(c => (string)c!["role"]!));

        var replayed = Assert.Single(contents[1]!["parts"]!.AsArray())!;
        Assert.Equal(signature, (string)replayed["thoughtSignature"]!);
        Assert.Equal("call-7", (string)replayed["functionCall"]!["id"]!);
        Assert.Equal("get_weather", (string)replayed["functionCall"]!["name"]!);
        Assert.Equal("Melbourne", (string)replayed["functionCall"]!["args"]!["city"]!);

        var result = Assert.Single(contents[2]!["parts"]!.AsArray())!["functionResponse"]!;
        Assert.Equal("get_weather", (string)result["name"]!);
        Assert.Equal("call-7", (string)result["id"]!);
        Assert.Equal("18°C, rain", (string)result["response"]!["output"]!);
    }

    [Fact]
    public async Task Calls_without_ids_get_synthesized_ids_and_responses_are_named_by_their_call()
    {
        _server.Enqueue(GeminiReplies.Parts(
            GeminiReplies.CallPart("get_weather", new JsonObject { ["city"] = "Oslo" }),
            GeminiReplies.CallPart("get_time", new JsonObject { ["zone"] = "CET" })));
        _server.Enqueue(GeminiReplies.Text("Done."));
        using var client = _server.CreateClient();

        var first = await client.GetResponseAsync("Weather and time in Oslo?", cancellationToken: Ct);

        var calls = first.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().ToList();
        Assert.Equal(2, calls.Count);
        Assert.All(calls, c => Assert.StartsWith(GeminiRequestBuilder.SynthesizedCallIdPrefix, c.CallId, StringComparison.Ordinal));
        Assert.NotEqual(calls[0].CallId, calls[1].CallId);
        Assert.Equal(ChatFinishReason.ToolCalls, first.FinishReason);

        // Results in the opposite order: the name must come from each call id, not from position.
        List<ChatMessage> history = [new(ChatRole.User, "Weather and time in Oslo?"), .. first.Messages,
            new(ChatRole.Tool, [new FunctionResultContent(calls[1].CallId, "14:00"), new FunctionResultContent(calls[0].CallId, "cold")])];
        await client.GetResponseAsync(history, cancellationToken: Ct);

        var contents = _server.Requests[1].Json["contents"]!.AsArray();
        var replayed = contents[1]!["parts"]!.AsArray();
        Assert.All(replayed, p => Assert.Null(p!["functionCall"]!["id"]));
        // No signature came with these calls, so each carries the documented validator-skip value.
        Assert.All(replayed, p => Assert.Equal(GeminiRequestBuilder.SkipThoughtSignature, (string)p!["thoughtSignature"]!));
        Assert.Equal("skip_thought_signature_validator", System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(GeminiRequestBuilder.SkipThoughtSignature)));

        var responses = contents[2]!["parts"]!.AsArray().Select(p => p!["functionResponse"]!).ToList();
        Assert.Equal(["get_time", "get_weather"], responses.Select(r => (string)r["name"]!));
        Assert.Equal(["14:00", "cold"], responses.Select(r => (string)r["response"]!["output"]!));
        Assert.All(responses, r => Assert.Null(r["id"]));
    }

    [Fact]
    public async Task Thought_parts_and_signatures_on_text_survive_a_round_trip()
    {
        _server.Enqueue(GeminiReplies.Parts(
            new JsonObject { ["text"] = "Thinking about it", ["thought"] = true },
            GeminiReplies.TextPart("The answer is 4.", thoughtSignature: "c2lnLW9uLXRleHQ=")));
        using var client = _server.CreateClient();

        var first = await client.GetResponseAsync("2+2?", cancellationToken: Ct);
        Assert.Equal("The answer is 4.", first.Text);
        Assert.Equal("Thinking about it", first.Messages[0].Contents.OfType<TextReasoningContent>().First().Text);

        await client.GetResponseAsync([new(ChatRole.User, "2+2?"), .. first.Messages, new(ChatRole.User, "Sure?")], cancellationToken: Ct);

        var parts = _server.Requests[1].Json["contents"]![1]!["parts"]!.AsArray();
        Assert.Equal(2, parts.Count);
        Assert.True((bool)parts[0]!["thought"]!);
        Assert.Equal("Thinking about it", (string)parts[0]!["text"]!);
        Assert.Equal("The answer is 4.", (string)parts[1]!["text"]!);
        Assert.Equal("c2lnLW9uLXRleHQ=", (string)parts[1]!["thoughtSignature"]!);
    }

    [Theory]
    [InlineData("\r\n")]
    [InlineData("\n")]
    public async Task Streams_sse_chunks_and_reports_the_final_usage_exactly_once(string newline)
    {
        _server.Enqueue(GeminiReplies.Stream(
        [
            GeminiReplies.Response([GeminiReplies.TextPart("The capital")], null, GeminiReplies.Usage(8, 2)),
            GeminiReplies.Response([GeminiReplies.TextPart(" of France")], null, GeminiReplies.Usage(8, 4)),
            GeminiReplies.Response([GeminiReplies.TextPart(" is Paris.")], "STOP", GeminiReplies.Usage(7, 9)),
        ], newline));
        using var client = _server.CreateClient();

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync("Capital of France?", cancellationToken: Ct))
        {
            updates.Add(update);
        }

        var request = Assert.Single(_server.Requests);
        Assert.Equal("/v1beta/models/gemini-test:streamGenerateContent", request.Path);
        Assert.Equal("?alt=sse", request.Query);
        Assert.Equal(FakeGeminiServer.ApiKey, request.Header("x-goog-api-key"));

        Assert.Equal("The capital of France is Paris.", string.Concat(updates.Select(u => u.Text)));
        var usage = Assert.Single(updates.SelectMany(u => u.Contents).OfType<UsageContent>());
        Assert.Equal(7, usage.Details.InputTokenCount);
        Assert.Equal(9, usage.Details.OutputTokenCount);
        Assert.Equal(16, usage.Details.TotalTokenCount);
        Assert.Equal(ChatFinishReason.Stop, Assert.Single(updates, u => u.FinishReason is not null).FinishReason);

        var combined = updates.ToChatResponse();
        Assert.Equal(7, combined.Usage!.InputTokenCount);
        Assert.Equal("resp-1", combined.ResponseId);
        Assert.Equal("gemini-test-001", combined.ModelId);
    }

    [Fact]
    public async Task Raw_representation_fields_win_and_options_fill_the_rest()
    {
        using var client = _server.CreateClient();
        var options = new ChatOptions
        {
            Temperature = 0.1f,
            Reasoning = new ReasoningOptions { Effort = ReasoningEffort.High },
            RawRepresentationFactory = _ => new JsonObject
            {
                ["safetySettings"] = new JsonArray(new JsonObject { ["category"] = "HARM_CATEGORY_HARASSMENT", ["threshold"] = "BLOCK_ONLY_HIGH" }),
                ["generationConfig"] = new JsonObject { ["thinkingConfig"] = new JsonObject { ["thinkingBudget"] = 1024 } },
            },
        };

        await client.GetResponseAsync("Hi", options, Ct);

        var body = _server.Requests[0].Json;
        Assert.Equal("BLOCK_ONLY_HIGH", (string)body["safetySettings"]![0]!["threshold"]!);
        Assert.Equal(1024, (int)body["generationConfig"]!["thinkingConfig"]!["thinkingBudget"]!);
        Assert.Null(body["generationConfig"]!["thinkingConfig"]!["thinkingLevel"]);
        Assert.Equal(0.1, (double)body["generationConfig"]!["temperature"]!, 3);
        Assert.Equal("Hi", (string)body["contents"]![0]!["parts"]![0]!["text"]!);
    }

    [Theory]
    [InlineData(ReasoningEffort.None, null, 0)]
    [InlineData(ReasoningEffort.Low, "LOW", null)]
    [InlineData(ReasoningEffort.ExtraHigh, "HIGH", null)]
    public async Task Reasoning_effort_maps_to_the_thinking_config(ReasoningEffort effort, string? level, int? budget)
    {
        using var client = _server.CreateClient();

        await client.GetResponseAsync("Hi", new ChatOptions { Reasoning = new ReasoningOptions { Effort = effort, Output = ReasoningOutput.Summary } }, Ct);

        var thinking = _server.Requests[0].Json["generationConfig"]!["thinkingConfig"]!;
        Assert.Equal(level, (string?)thinking["thinkingLevel"]);
        Assert.Equal(budget, (int?)thinking["thinkingBudget"]);
        Assert.True((bool)thinking["includeThoughts"]!);
    }

    [Fact]
    public async Task A_streaming_request_refused_up_front_is_mapped_like_a_unary_one()
    {
        _server.Enqueue(GeminiReplies.RateLimited("2s"));
        using var client = _server.CreateClient();

        var failure = await Assert.ThrowsAsync<ModelProviderException>(async () =>
        {
            await foreach (var _ in client.GetStreamingResponseAsync("Hi", cancellationToken: Ct))
            {
            }
        });

        Assert.Equal(ModelFailureKind.RateLimited, failure.Kind);
        Assert.Equal(TimeSpan.FromSeconds(2), failure.RetryAfter);
        Assert.Single(_server.Requests);
    }

    [Fact]
    public async Task Rate_limit_per_minute_is_retryable_and_carries_the_retry_delay_whatever_the_culture()
    {
        _server.Enqueue(GeminiReplies.RateLimited("12.771204034s"));
        using var client = _server.CreateClient();
        var culture = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("de-DE");
        try
        {
            var failure = await Assert.ThrowsAsync<ModelProviderException>(() => client.GetResponseAsync("Hi", cancellationToken: Ct));

            Assert.Equal(ModelFailureKind.RateLimited, failure.Kind);
            Assert.True(failure.IsRetryable);
            Assert.Equal(HttpStatusCode.TooManyRequests, failure.StatusCode);
            Assert.Equal("RESOURCE_EXHAUSTED", failure.ProviderStatus);
            Assert.Equal(TimeSpan.FromSeconds(12.771204034), failure.RetryAfter);
            Assert.Equal("gemini", failure.Provider);
            Assert.Equal("gemini-test", failure.Model);
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
        }
    }

    [Fact]
    public async Task Rate_limit_with_a_whole_second_delay()
    {
        _server.Enqueue(GeminiReplies.RateLimited("26s"));
        using var client = _server.CreateClient();

        var failure = await Assert.ThrowsAsync<ModelProviderException>(() => client.GetResponseAsync("Hi", cancellationToken: Ct));

        Assert.Equal(TimeSpan.FromSeconds(26), failure.RetryAfter);
    }

    [Fact]
    public async Task Daily_quota_exhaustion_is_not_retryable()
    {
        _server.Enqueue(GeminiReplies.QuotaExhausted());
        using var client = _server.CreateClient();

        var failure = await Assert.ThrowsAsync<ModelProviderException>(() => client.GetResponseAsync("Hi", cancellationToken: Ct));

        Assert.Equal(ModelFailureKind.QuotaExhausted, failure.Kind);
        Assert.False(failure.IsRetryable);
        Assert.Equal(HttpStatusCode.TooManyRequests, failure.StatusCode);
        Assert.Null(failure.RetryAfter);
    }

    [Theory]
    [InlineData(500, "INTERNAL", ModelFailureKind.Transient, true)]
    [InlineData(503, "UNAVAILABLE", ModelFailureKind.Transient, true)]
    [InlineData(400, "INVALID_ARGUMENT", ModelFailureKind.InvalidRequest, false)]
    [InlineData(401, "UNAUTHENTICATED", ModelFailureKind.Unauthorized, false)]
    [InlineData(403, "PERMISSION_DENIED", ModelFailureKind.Unauthorized, false)]
    [InlineData(404, "NOT_FOUND", ModelFailureKind.NotFound, false)]
    public async Task Http_errors_map_to_a_failure_kind_after_exactly_one_attempt(int status, string word, ModelFailureKind kind, bool retryable)
    {
        _server.Enqueue(GeminiReplies.Error(status, word, $"upstream said {word}"));
        using var client = _server.CreateClient();

        var failure = await Assert.ThrowsAsync<ModelProviderException>(() => client.GetResponseAsync("Hi", cancellationToken: Ct));

        Assert.Equal(kind, failure.Kind);
        Assert.Equal(retryable, failure.IsRetryable);
        Assert.Equal((HttpStatusCode)status, failure.StatusCode);
        Assert.Equal(word, failure.ProviderStatus);
        Assert.Contains($"upstream said {word}", failure.Message, StringComparison.Ordinal);
        Assert.Single(_server.Requests);
    }

    [Fact]
    public async Task An_invalid_key_reported_as_400_is_unauthorized_and_the_key_stays_out_of_the_message()
    {
        _server.Enqueue(GeminiReplies.Error(400, "INVALID_ARGUMENT", $"API key not valid: {FakeGeminiServer.ApiKey}", GeminiReplies.ErrorInfo("API_KEY_INVALID")));
        using var client = _server.CreateClient();

        var failure = await Assert.ThrowsAsync<ModelProviderException>(() => client.GetResponseAsync("Hi", cancellationToken: Ct));

        Assert.Equal(ModelFailureKind.Unauthorized, failure.Kind);
        Assert.DoesNotContain(FakeGeminiServer.ApiKey, failure.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_malformed_success_body_is_an_invalid_response()
    {
        _server.Enqueue(FakeReply.Json("""{"candidates": [ {"content": """));
        using var client = _server.CreateClient();

        var failure = await Assert.ThrowsAsync<ModelProviderException>(() => client.GetResponseAsync("Hi", cancellationToken: Ct));

        Assert.Equal(ModelFailureKind.InvalidResponse, failure.Kind);
        Assert.False(failure.IsRetryable);
    }

    [Fact]
    public async Task A_part_that_cannot_be_read_is_an_invalid_response()
    {
        _server.Enqueue(GeminiReplies.Parts(new JsonObject { ["inlineData"] = new JsonObject { ["mimeType"] = "image/png", ["data"] = "not base64!" } }));
        using var client = _server.CreateClient();

        var failure = await Assert.ThrowsAsync<ModelProviderException>(() => client.GetResponseAsync("Hi", cancellationToken: Ct));

        Assert.Equal(ModelFailureKind.InvalidResponse, failure.Kind);
    }

    [Fact]
    public async Task An_empty_or_malformed_stream_is_an_invalid_response()
    {
        _server.Enqueue(FakeReply.Body(200, "", "text/event-stream"), FakeReply.Sse(["{\"candidates\": [ "]));
        using var client = _server.CreateClient();

        async Task Drain()
        {
            await foreach (var _ in client.GetStreamingResponseAsync("Hi", cancellationToken: Ct))
            {
            }
        }

        Assert.Equal(ModelFailureKind.InvalidResponse, (await Assert.ThrowsAsync<ModelProviderException>(Drain)).Kind);
        Assert.Equal(ModelFailureKind.InvalidResponse, (await Assert.ThrowsAsync<ModelProviderException>(Drain)).Kind);
    }

    [Fact]
    public async Task A_non_json_gateway_error_is_transient_with_an_excerpt()
    {
        _server.Enqueue(FakeReply.Body(502, "<html><body>Bad gateway</body></html>", "text/html"));
        using var client = _server.CreateClient();

        var failure = await Assert.ThrowsAsync<ModelProviderException>(() => client.GetResponseAsync("Hi", cancellationToken: Ct));

        Assert.Equal(ModelFailureKind.Transient, failure.Kind);
        Assert.Contains("Bad gateway", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_dropped_connection_is_transient()
    {
        _server.Enqueue(FakeReply.Abort());
        using var client = _server.CreateClient();

        var failure = await Assert.ThrowsAsync<ModelProviderException>(() => client.GetResponseAsync("Hi", cancellationToken: Ct));

        Assert.Equal(ModelFailureKind.Transient, failure.Kind);
        Assert.Null(failure.StatusCode);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_slow_upstream_times_out_with_the_configured_timeout()
    {
        _server.Enqueue(FakeReply.Stall());
        using var client = _server.CreateClient(requestTimeout: TimeSpan.FromMilliseconds(300));

        var failure = await Assert.ThrowsAsync<ModelProviderException>(() => client.GetResponseAsync("Hi", cancellationToken: TestContext.Current.CancellationToken));

        Assert.Equal(ModelFailureKind.Timeout, failure.Kind);
        Assert.True(failure.IsRetryable);
        // On a loaded machine the timeout can fire before the server has read (and recorded) the request;
        // when it did get it, the client must have hung up.
        if (_server.Requests.Count > 0)
        {
            await _server.Requests[0].Aborted.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task The_request_timeout_runs_on_the_injected_clock()
    {
        var clock = new FakeTimeProvider();
        _server.Enqueue(FakeReply.Stall());
        using var client = _server.CreateClient(requestTimeout: TimeSpan.FromMinutes(5), timeProvider: clock);

        var call = client.GetResponseAsync("Hi", cancellationToken: TestContext.Current.CancellationToken);
        var request = await _server.WaitForRequestAsync(0);
        clock.Advance(TimeSpan.FromMinutes(5));

        var failure = await Assert.ThrowsAsync<ModelProviderException>(() => call);
        Assert.Equal(ModelFailureKind.Timeout, failure.Kind);
        Assert.Contains("00:05:00", failure.Message, StringComparison.Ordinal);
        await request.Aborted.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_stream_that_goes_silent_times_out_after_its_last_event()
    {
        // The clock moves only once the first event is in: a loaded machine cannot make the test time out before it.
        var clock = new FakeTimeProvider();
        _server.Enqueue(GeminiReplies.Stream([GeminiReplies.Response([GeminiReplies.TextPart("partial")], null)], thenStall: true));
        using var client = _server.CreateClient(requestTimeout: TimeSpan.FromSeconds(5), timeProvider: clock);

        var received = new List<string>();
        await using var updates = client.GetStreamingResponseAsync("Hi", cancellationToken: TestContext.Current.CancellationToken).GetAsyncEnumerator(TestContext.Current.CancellationToken);
        Assert.True(await updates.MoveNextAsync());
        received.Add(updates.Current.Text);
        var next = updates.MoveNextAsync().AsTask();
        clock.Advance(TimeSpan.FromSeconds(5));
        var failure = await Assert.ThrowsAsync<ModelProviderException>(() => next);

        Assert.Equal(["partial"], received);
        Assert.Equal(ModelFailureKind.Timeout, failure.Kind);
    }

    [Fact]
    public async Task An_error_in_the_middle_of_a_stream_surfaces_after_the_updates_before_it()
    {
        _server.Enqueue(FakeReply.Sse(
        [
            GeminiReplies.Response([GeminiReplies.TextPart("Once upon")], null).ToJsonString(),
            GeminiReplies.ErrorBody(503, "UNAVAILABLE", "The model is overloaded.").ToJsonString(),
            GeminiReplies.Response([GeminiReplies.TextPart(" a time")], "STOP").ToJsonString(),
        ], "\r\n"));
        using var client = _server.CreateClient();

        var received = new List<string>();
        var failure = await Assert.ThrowsAsync<ModelProviderException>(async () =>
        {
            await foreach (var update in client.GetStreamingResponseAsync("Tell a story", cancellationToken: Ct))
            {
                received.Add(update.Text);
            }
        });

        Assert.Equal(["Once upon"], received);
        Assert.Equal(ModelFailureKind.Transient, failure.Kind);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, failure.StatusCode);
        Assert.Equal("UNAVAILABLE", failure.ProviderStatus);
        Assert.Contains("overloaded", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_rate_limit_in_the_middle_of_a_stream_keeps_its_retry_delay()
    {
        _server.Enqueue(FakeReply.Sse(
        [
            GeminiReplies.ErrorBody(429, "RESOURCE_EXHAUSTED", "slow down",
                GeminiReplies.QuotaFailure(GeminiReplies.PerMinuteQuota), GeminiReplies.RetryInfo("3.5s")).ToJsonString(),
        ]));
        using var client = _server.CreateClient();

        var failure = await Assert.ThrowsAsync<ModelProviderException>(async () =>
        {
            await foreach (var _ in client.GetStreamingResponseAsync("Hi", cancellationToken: Ct))
            {
            }
        });

        Assert.Equal(ModelFailureKind.RateLimited, failure.Kind);
        Assert.Equal(TimeSpan.FromSeconds(3.5), failure.RetryAfter);
    }

    [Fact(Timeout = 30_000)]
    public async Task Caller_cancellation_propagates_and_aborts_the_upstream_request()
    {
        _server.Enqueue(FakeReply.Stall());
        using var client = _server.CreateClient();
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);

        var call = client.GetResponseAsync("Hi", cancellationToken: cancellation.Token);
        var request = await _server.WaitForRequestAsync(0);
        await cancellation.CancelAsync();

        // ModelProviderException is not an OperationCanceledException: this fails if cancellation were mapped.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        await request.Aborted.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
    }

    [Fact(Timeout = 30_000)]
    public async Task Caller_cancellation_during_a_stream_propagates_and_aborts_the_upstream_request()
    {
        _server.Enqueue(GeminiReplies.Stream([GeminiReplies.Response([GeminiReplies.TextPart("first")], null)], thenStall: true));
        using var client = _server.CreateClient();
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);

        var received = new List<string>();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in client.GetStreamingResponseAsync("Hi", cancellationToken: cancellation.Token))
            {
                received.Add(update.Text);
                await cancellation.CancelAsync();
            }
        });

        Assert.Equal(["first"], received);
        await _server.Requests[0].Aborted.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
    }

    [Theory]
    [InlineData("SAFETY")]
    [InlineData("PROHIBITED_CONTENT")]
    public async Task A_blocked_prompt_is_reported_as_a_content_filter_block(string reason)
    {
        _server.Enqueue(FakeReply.Json(new JsonObject
        {
            ["promptFeedback"] = new JsonObject { ["blockReason"] = reason, ["blockReasonMessage"] = "Prompt refused." },
            ["usageMetadata"] = GeminiReplies.Usage(5, 0),
            ["modelVersion"] = "gemini-test-001",
        }.ToJsonString()));
        using var client = _server.CreateClient();

        var response = await client.GetResponseAsync("Something bad", cancellationToken: Ct);

        Assert.Equal(ChatFinishReason.ContentFilter, response.FinishReason);
        var block = ContentBlock.Find(response);
        Assert.NotNull(block);
        Assert.Equal(reason, block.Reason);
        Assert.True(block.PromptBlocked);
        Assert.Equal("Prompt refused.", block.Message);
        Assert.Equal(ModelFailureKind.ContentBlocked, block.ToException("gemini", "gemini-test").Kind);
    }

    [Fact]
    public async Task A_candidate_stopped_for_safety_is_a_content_filter_block_and_max_tokens_is_not()
    {
        _server.Enqueue(GeminiReplies.Text("Partial", finishReason: "SAFETY"));
        _server.Enqueue(GeminiReplies.Text("Truncated", finishReason: "MAX_TOKENS"));
        using var client = _server.CreateClient();

        var blocked = await client.GetResponseAsync("Hi", cancellationToken: Ct);
        var truncated = await client.GetResponseAsync("Hi", cancellationToken: Ct);

        Assert.Equal(ChatFinishReason.ContentFilter, blocked.FinishReason);
        var block = ContentBlock.Find(blocked);
        Assert.NotNull(block);
        Assert.Equal("SAFETY", block.Reason);
        Assert.False(block.PromptBlocked);
        Assert.Equal(ChatFinishReason.Length, truncated.FinishReason);
        Assert.Null(ContentBlock.Find(truncated));
    }

    private static List<string> Texts(JsonNode parts) => parts.AsArray().Select(p => (string)p!["text"]!).ToList();
}
