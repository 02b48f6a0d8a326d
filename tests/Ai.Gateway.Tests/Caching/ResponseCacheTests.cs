using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ai.Gateway.Tests.Fakes;
using Ai.Gateway.Tests.Policy;
using TestSupport;

namespace Ai.Gateway.Tests.Caching;

/// <summary>
/// Issue 13: the shared response cache over real HTTP and a real Redis. Model "cached" has
/// <c>Gateway:Models:&lt;id&gt;:Cache:Enabled</c>, "plain" does not; a request asks with <c>x-gateway-cache</c> (or
/// <c>cache</c> in /v1/generate's body). Every test sends its own prompt, so their entries never meet.
/// </summary>
public sealed class ResponseCacheTests(RedisFixture redis) : IAsyncLifetime
{
    private const string OtherKey = "other-caller-key-0123456789";

    private FakeGeminiServer _gemini = null!;
    private PolicyGateway _gateway = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _gemini = await FakeGeminiServer.StartNewAsync();
        _gateway = await StartGatewayAsync(Guid.NewGuid().ToString("N")[..8]);
    }

    public async ValueTask DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _gemini.DisposeAsync();
    }

    private Task<PolicyGateway> StartGatewayAsync(string suffix, IDictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            [$"Gateway:Models:cached-{suffix}:Cache:Enabled"] = "true",
            [$"Gateway:Models:cached-{suffix}:Cache:Ttl"] = "00:10:00",
            ["Auth:ApiKeys:other"] = OtherKey,
            // Not the 250 ms default: on a busy test machine a Redis round trip can take longer, and these tests
            // want hit or miss, never 'unavailable' (ResponseCacheOutageTests covers that).
            ["Gateway:Policy:CacheTimeout"] = "00:00:05",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return PolicyGateway.StartAsync(redis, _gemini, [new TestModel("cached"), new TestModel("plain")], settings, suffix);
    }

    private string Cached => _gateway.Id("cached");

    private int ModelCalls(string prompt) => _gemini.Requests.Count(r => r.Body.Contains(prompt, StringComparison.Ordinal));

    private static async Task<Answer> SendAsync(HttpClient client, string path, object body, string? mode = "use")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        if (mode is not null)
        {
            request.Headers.Add("x-gateway-cache", mode);
        }

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        var header = response.Headers.TryGetValues("x-gateway-cache", out var values) ? values.Single() : null;
        var json = text.TrimStart().StartsWith('{') ? JsonDocument.Parse(text).RootElement.Clone() : default;
        return new Answer(response.StatusCode, header, text, json);
    }

    private sealed record Answer(HttpStatusCode Status, string? CacheHeader, string Text, JsonElement Json)
    {
        public JsonElement Cache => Json.GetProperty("cache");

        public JsonElement ChatCache => Json.GetProperty("x_gateway").GetProperty("cache");
    }

    private Task<Answer> GenerateAsync(object body, string? mode = "use", HttpClient? client = null) =>
        SendAsync(client ?? _gateway.Client, "/v1/generate", body, mode);

    private Task<Answer> ChatAsync(object body, string? mode = "use", HttpClient? client = null) =>
        SendAsync(client ?? _gateway.Client, "/v1/chat/completions", body, mode);

    private object Chat(string prompt, object? extra = null)
    {
        var body = new JsonObject
        {
            ["model"] = Cached,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = prompt }),
        };
        foreach (var (key, value) in JsonSerializer.SerializeToNode(extra ?? new { })!.AsObject())
        {
            body[key] = value?.DeepClone();
        }

        return body;
    }

    [Fact]
    public async Task A_repeated_generate_is_served_from_the_cache_without_calling_the_model()
    {
        const string prompt = "cache: repeated generate";

        var first = await GenerateAsync(new { input = prompt, model = Cached });
        var second = await GenerateAsync(new { input = prompt, model = Cached });

        Assert.True(first.Status == HttpStatusCode.OK, first.Text);
        Assert.Equal("miss", first.CacheHeader);
        Assert.Equal("miss", first.Cache.GetProperty("status").GetString());
        Assert.True(first.Cache.GetProperty("stored").GetBoolean());
        Assert.True(second.Status == HttpStatusCode.OK, second.Text);
        Assert.Equal("hit", second.CacheHeader);
        Assert.Equal("hit", second.Cache.GetProperty("status").GetString());
        Assert.Equal(first.Json.GetProperty("output").GetString(), second.Json.GetProperty("output").GetString());
        Assert.Equal(Cached, second.Json.GetProperty("model").GetString());
        Assert.Empty(second.Json.GetProperty("attempts").EnumerateArray());
        Assert.Equal(0m, second.Json.GetProperty("costUsd").GetDecimal());
        Assert.Equal(0, second.Json.GetProperty("usage").GetProperty("totalTokens").GetInt64());
        Assert.Equal(first.Json.GetProperty("costUsd").GetDecimal(), second.Cache.GetProperty("savedCostUsd").GetDecimal());
        Assert.Equal(1, ModelCalls(prompt));
    }

    [Fact]
    public async Task Another_replica_serves_what_one_replica_stored()
    {
        const string prompt = "cache: shared by replicas";
        await using var replica = await StartGatewayAsync(_gateway.Suffix);

        var first = await GenerateAsync(new { input = prompt, model = Cached });
        var second = await GenerateAsync(new { input = prompt, model = Cached }, client: replica.Client);

        Assert.Equal("miss", first.CacheHeader);
        Assert.Equal("hit", second.CacheHeader);
        Assert.Equal(1, ModelCalls(prompt));
    }

    [Fact]
    public async Task A_request_that_does_not_ask_neither_reads_nor_fills_the_cache()
    {
        const string prompt = "cache: not asked";

        var plain = await GenerateAsync(new { input = prompt, model = Cached }, mode: null);
        var bypass = await GenerateAsync(new { input = prompt, model = Cached }, mode: "bypass");
        var use = await GenerateAsync(new { input = prompt, model = Cached });

        Assert.Null(plain.CacheHeader);
        Assert.False(plain.Json.TryGetProperty("cache", out _));
        Assert.Equal("bypass", bypass.CacheHeader);
        Assert.False(bypass.Cache.GetProperty("stored").GetBoolean());
        Assert.Equal("miss", use.CacheHeader);
        Assert.Equal(3, ModelCalls(prompt));
    }

    [Fact]
    public async Task A_model_without_the_cache_enabled_is_never_cached()
    {
        const string prompt = "cache: model not enabled";
        var body = new { input = prompt, model = _gateway.Id("plain") };

        var first = await GenerateAsync(body);
        var second = await GenerateAsync(body);

        Assert.Equal("off", first.CacheHeader);
        Assert.Equal("off", second.CacheHeader);
        Assert.Equal(2, ModelCalls(prompt));
    }

    [Fact]
    public async Task The_body_field_asks_for_the_cache_and_wins_over_the_header()
    {
        const string prompt = "cache: body field";

        var first = await GenerateAsync(new { input = prompt, model = Cached, cache = "use" }, mode: null);
        var second = await GenerateAsync(new { input = prompt, model = Cached, cache = "use" }, mode: "bypass");
        var refreshed = await GenerateAsync(new { input = prompt, model = Cached, cache = "refresh" });

        Assert.Equal("miss", first.CacheHeader);
        Assert.Equal("hit", second.CacheHeader);
        Assert.Equal("refresh", refreshed.CacheHeader);
        Assert.True(refreshed.Cache.GetProperty("stored").GetBoolean());
        Assert.Equal(2, ModelCalls(prompt));
    }

    [Fact]
    public async Task Another_caller_never_gets_a_cached_answer_of_the_first()
    {
        const string prompt = "cache: per caller";
        using var other = _gateway.ClientWithKey(OtherKey);

        var mine = await GenerateAsync(new { input = prompt, model = Cached });
        var theirs = await GenerateAsync(new { input = prompt, model = Cached }, client: other);
        var theirsAgain = await GenerateAsync(new { input = prompt, model = Cached }, client: other);

        Assert.Equal("miss", mine.CacheHeader);
        Assert.Equal("miss", theirs.CacheHeader);
        Assert.Equal("hit", theirsAgain.CacheHeader);
        Assert.Equal(2, ModelCalls(prompt));
    }

    [Fact]
    public async Task Parameters_schema_and_tools_are_part_of_the_key()
    {
        const string prompt = "cache: parameters";
        var schema = JsonNode.Parse("""{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]}""");
        var otherSchema = JsonNode.Parse("""{"type":"object","properties":{"b":{"type":"string"}},"required":["b"]}""");
        _gemini.DefaultReply = GeminiReplies.Text("""{"a":"x","b":"y"}""");
        var tool = new { type = "function", function = new { name = "lookup", description = "Looks up", parameters = new { type = "object" } } };
        var otherTool = new { type = "function", function = new { name = "lookup", description = "Looks up", parameters = new { type = "object", properties = new { q = new { type = "string" } } } } };

        object[] variants =
        [
            Chat(prompt),
            Chat(prompt, new { temperature = 0.5 }),
            Chat(prompt, new { temperature = 0.6 }),
            Chat(prompt, new { max_tokens = 50 }),
            Chat(prompt, new { response_format = new { type = "json_schema", json_schema = new { name = "s", schema } } }),
            Chat(prompt, new { response_format = new { type = "json_schema", json_schema = new { name = "s", schema = otherSchema } } }),
            Chat(prompt, new { tools = new[] { tool } }),
            Chat(prompt, new { tools = new[] { otherTool } }),
            new { model = _gateway.Id("cached"), messages = new object[] { new { role = "system", content = "Be brief." }, new { role = "user", content = prompt } } },
        ];

        foreach (var variant in variants)
        {
            var answer = await ChatAsync(variant);
            Assert.True(answer.CacheHeader == "miss", $"{JsonSerializer.Serialize(variant)}: {answer.CacheHeader} {answer.Text}");
        }

        foreach (var variant in variants)
        {
            var answer = await ChatAsync(variant);
            Assert.True(answer.CacheHeader == "hit", $"{JsonSerializer.Serialize(variant)}: {answer.CacheHeader} {answer.Text}");
        }

        Assert.Equal(variants.Length, ModelCalls(prompt));
    }

    [Fact]
    public async Task A_chat_completion_hit_says_so_in_its_header_and_x_gateway()
    {
        const string prompt = "cache: chat hit";

        var first = await ChatAsync(Chat(prompt));
        var second = await ChatAsync(Chat(prompt));

        Assert.True(second.Status == HttpStatusCode.OK, second.Text);
        Assert.Equal("miss", first.ChatCache.GetProperty("status").GetString());
        Assert.Equal("hit", second.CacheHeader);
        Assert.Equal("hit", second.ChatCache.GetProperty("status").GetString());
        Assert.Equal(Cached, second.Json.GetProperty("model").GetString());
        Assert.Equal(first.Json.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(),
            second.Json.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal(0, second.Json.GetProperty("usage").GetProperty("total_tokens").GetInt64());
        Assert.Equal(1, ModelCalls(prompt));
    }

    [Fact]
    public async Task A_failure_is_not_cached()
    {
        const string prompt = "cache: failure";
        _gemini.EnqueueFor(Cached, GeminiReplies.Error(400, "INVALID_ARGUMENT", "no"));

        var failed = await GenerateAsync(new { input = prompt, model = Cached });
        var next = await GenerateAsync(new { input = prompt, model = Cached });

        Assert.Equal(HttpStatusCode.BadGateway, failed.Status);
        Assert.True(next.Status == HttpStatusCode.OK, next.Text);
        Assert.Equal("miss", next.CacheHeader);
        Assert.Equal(2, ModelCalls(prompt));
    }

    [Fact]
    public async Task A_blocked_answer_is_not_cached_unary_or_streamed()
    {
        const string prompt = "cache: blocked";
        const string promptBlocked = """{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":3,"totalTokenCount":3}}""";
        _gemini.EnqueueFor(Cached, FakeReply.Json(promptBlocked));
        _gemini.EnqueueFor(Cached, GeminiReplies.Stream(
        [
            GeminiReplies.Response([GeminiReplies.TextPart("Here is the first part")], finishReason: null),
            GeminiReplies.Response([GeminiReplies.TextPart(" and")], finishReason: "SAFETY", usage: GeminiReplies.Usage(4, 6)),
        ]));

        var blocked = await ChatAsync(Chat(prompt));
        var stopped = await ChatAsync(Chat(prompt, new { stream = true }));
        var next = await ChatAsync(Chat(prompt));

        Assert.Contains("content_filter", blocked.Text, StringComparison.Ordinal);
        Assert.False(blocked.ChatCache.GetProperty("stored").GetBoolean());
        Assert.Contains("content_filter", stopped.Text, StringComparison.Ordinal);
        Assert.Contains("\"stored\":false", stopped.Text, StringComparison.Ordinal);
        Assert.Equal("miss", next.CacheHeader);
        Assert.Equal(3, ModelCalls(prompt));
    }

    [Fact]
    public async Task An_answer_that_asks_for_tools_is_not_cached()
    {
        const string prompt = "cache: tool call round";
        var tool = new { type = "function", function = new { name = "lookup", parameters = new { type = "object" } } };
        _gemini.EnqueueFor(Cached, GeminiReplies.Parts(GeminiReplies.CallPart("lookup", new JsonObject { ["q"] = "x" })));

        var round = await ChatAsync(Chat(prompt, new { tools = new[] { tool } }));
        var next = await ChatAsync(Chat(prompt, new { tools = new[] { tool } }));

        Assert.Equal("tool_calls", round.Json.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.False(round.ChatCache.GetProperty("stored").GetBoolean());
        Assert.Equal("miss", next.CacheHeader);
        Assert.Equal(2, ModelCalls(prompt));
    }

    [Fact]
    public async Task An_answer_over_the_models_max_entry_size_is_not_cached()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        await using var tiny = await StartGatewayAsync(suffix, new Dictionary<string, string?> { [$"Gateway:Models:cached-{suffix}:Cache:MaxEntryBytes"] = "100" });
        const string prompt = "cache: too large";

        var first = await SendAsync(tiny.Client, "/v1/generate", new { input = prompt, model = tiny.Id("cached") }, "use");
        var second = await SendAsync(tiny.Client, "/v1/generate", new { input = prompt, model = tiny.Id("cached") }, "use");

        Assert.True(first.Status == HttpStatusCode.OK, first.Text);
        Assert.False(first.Cache.GetProperty("stored").GetBoolean());
        Assert.Equal("miss", second.CacheHeader);
        Assert.Equal(2, ModelCalls(prompt));
    }

    [Fact]
    public async Task A_streamed_request_is_served_from_an_answer_cached_unary_and_the_other_way_round()
    {
        const string prompt = "cache: streamed hit";
        const string streamedFirst = "cache: streamed miss";
        _gemini.EnqueueFor(Cached, GeminiReplies.Text("unary answer"));

        var unary = await GenerateAsync(new { input = prompt, model = Cached });
        _gemini.EnqueueFor(Cached, GeminiReplies.Stream([GeminiReplies.Response([GeminiReplies.TextPart("chat's own")], usage: GeminiReplies.Usage(4, 6))]));
        var generateStream = await GenerateAsync(new { input = prompt, model = Cached, stream = true });
        var chatStream = await ChatAsync(Chat(prompt, new { stream = true }));

        Assert.Equal("miss", unary.CacheHeader);
        Assert.True(generateStream.Status == HttpStatusCode.OK, generateStream.Text);
        Assert.Equal("hit", generateStream.CacheHeader);
        Assert.Contains("event: delta", generateStream.Text, StringComparison.Ordinal);
        Assert.Contains("unary answer", generateStream.Text, StringComparison.Ordinal);
        Assert.Contains("\"status\":\"hit\"", generateStream.Text, StringComparison.Ordinal);
        Assert.Equal("miss", chatStream.CacheHeader); // another API: its own entry
        Assert.Equal(2, ModelCalls(prompt));

        _gemini.EnqueueFor(Cached, GeminiReplies.Stream(
        [
            GeminiReplies.Response([GeminiReplies.TextPart("streamed ")], finishReason: null),
            GeminiReplies.Response([GeminiReplies.TextPart("answer")], usage: GeminiReplies.Usage(4, 6)),
        ]));
        var streamed = await ChatAsync(Chat(streamedFirst, new { stream = true }));
        var streamedAgain = await ChatAsync(Chat(streamedFirst, new { stream = true }));
        var unaryAfter = await ChatAsync(Chat(streamedFirst));

        Assert.Equal("miss", streamed.CacheHeader);
        Assert.Contains("\"stored\":true", streamed.Text, StringComparison.Ordinal);
        Assert.Equal("hit", streamedAgain.CacheHeader);
        Assert.Contains("data: [DONE]", streamedAgain.Text, StringComparison.Ordinal);
        Assert.Equal("streamed answer", string.Concat(Deltas(streamedAgain.Text)));
        Assert.Equal("hit", unaryAfter.CacheHeader);
        Assert.Equal("streamed answer", unaryAfter.Json.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal(1, ModelCalls(streamedFirst));
    }

    [Fact]
    public async Task A_json_answer_comes_back_from_the_cache_with_its_data()
    {
        const string prompt = "cache: json data";
        _gemini.EnqueueFor(Cached, GeminiReplies.Text("""{"city":"Oslo"}"""));
        var body = new { input = prompt, model = Cached, schema = new { type = "object", properties = new { city = new { type = "string" } }, required = new[] { "city" } } };

        var first = await GenerateAsync(body);
        var second = await GenerateAsync(body);

        Assert.Equal("miss", first.CacheHeader);
        Assert.Equal("hit", second.CacheHeader);
        Assert.Equal("Oslo", second.Json.GetProperty("data").GetProperty("city").GetString());
        Assert.Equal(1, ModelCalls(prompt));
    }

    [Fact]
    public async Task Usage_counts_hits_and_the_cost_they_saved_and_charges_no_tokens_for_them()
    {
        const string prompt = "cache: usage";
        await using var gateway = await StartGatewayAsync(Guid.NewGuid().ToString("N")[..8]);
        var model = gateway.Id("cached");

        var miss = await SendAsync(gateway.Client, "/v1/generate", new { input = prompt, model }, "use");
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("hit", (await SendAsync(gateway.Client, "/v1/generate", new { input = prompt, model }, "use")).CacheHeader);
        }

        var usage = await gateway.Client.GetFromJsonAsync<JsonElement>("/v1/usage", Ct);
        var row = usage.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("model").GetString() == model);
        var cost = miss.Json.GetProperty("costUsd").GetDecimal();
        Assert.True(cost > 0);
        Assert.Equal(1, row.GetProperty("requests").GetInt64());
        Assert.Equal(miss.Json.GetProperty("usage").GetProperty("inputTokens").GetInt64(), row.GetProperty("inputTokens").GetInt64());
        Assert.Equal(cost, row.GetProperty("costUsd").GetDecimal());
        Assert.Equal(3, row.GetProperty("cacheHits").GetInt64());
        Assert.Equal(3 * cost, row.GetProperty("cacheSavedUsd").GetDecimal());
        Assert.True(usage.GetProperty("totalCacheHits").GetInt64() >= 3);
    }

    [Theory]
    [InlineData("/v1/generate")]
    [InlineData("/v1/chat/completions")]
    public async Task An_unknown_cache_mode_is_400(string path)
    {
        var answer = await SendAsync(_gateway.Client, path, path == "/v1/generate" ? new { input = "x", model = Cached } : Chat("x"), "always");

        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        Assert.Contains("x-gateway-cache", answer.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_cache_field_is_400()
    {
        var answer = await GenerateAsync(new { input = "x", model = Cached, cache = "forever" }, mode: null);

        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        Assert.True(answer.Json.GetProperty("errors").TryGetProperty("cache", out _), answer.Text);
    }

    private static IEnumerable<string> Deltas(string sse) => sse.Split('\n')
        .Where(l => l.StartsWith("data: {", StringComparison.Ordinal))
        .Select(l => JsonDocument.Parse(l["data: ".Length..]).RootElement)
        .SelectMany(e => e.GetProperty("choices").EnumerateArray())
        .Select(c => c.GetProperty("delta").TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String ? content.GetString()! : "");
}

/// <summary>Redis stopped or paused: a request that asks for the cache is answered by the model, never failed or held up.</summary>
public sealed class ResponseCacheOutageTests : IAsyncLifetime
{
    private RedisServer _redis = null!;
    private FakeGeminiServer _gemini = null!;
    private PolicyGateway _gateway = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _gemini = await FakeGeminiServer.StartNewAsync();
        var suffix = Guid.NewGuid().ToString("N")[..8];
        _gateway = await PolicyGateway.StartAsync(_redis.ConnectionString + ",asyncTimeout=1000,syncTimeout=1000", _gemini, [new TestModel("cached")],
            new Dictionary<string, string?> { [$"Gateway:Models:cached-{suffix}:Cache:Enabled"] = "true" }, suffix);
    }

    public async ValueTask DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _gemini.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private async Task<(HttpResponseMessage Response, string Body)> AskAsync(string prompt, bool stream = false)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/generate") { Content = JsonContent.Create(new { input = prompt, stream }) };
        request.Headers.Add("x-gateway-cache", "use");
        var response = await _gateway.Client.SendAsync(request, Ct);
        return (response, await response.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public async Task A_stopped_Redis_skips_the_cache_and_the_model_answers()
    {
        var (cached, _) = await AskAsync("outage: stopped");
        Assert.Equal("miss", cached.Headers.GetValues("x-gateway-cache").Single());
        _redis.Stop();

        var (unary, body) = await AskAsync("outage: stopped");
        _gemini.Enqueue(GeminiReplies.Stream([GeminiReplies.Response([GeminiReplies.TextPart("streamed")], usage: GeminiReplies.Usage(4, 6))]));
        var (streamed, events) = await AskAsync("outage: stopped", stream: true);

        Assert.True(unary.StatusCode == HttpStatusCode.OK, body);
        Assert.Equal("unavailable", unary.Headers.GetValues("x-gateway-cache").Single());
        Assert.Contains("fake gemini reply", body, StringComparison.Ordinal);
        Assert.True(streamed.StatusCode == HttpStatusCode.OK, events);
        Assert.Contains("event: done", events, StringComparison.Ordinal);
        Assert.Equal(3, _gemini.Requests.Count);
    }

    [Fact]
    public async Task A_paused_Redis_skips_the_cache_and_the_model_answers()
    {
        // Longer than the Redis client's 1 s timeout; the cache gives up after Gateway:Policy:CacheTimeout (250 ms).
        Assert.Equal("+OK", await _redis.CommandAsync("CLIENT PAUSE 5000 ALL"));

        var (response, body) = await AskAsync("outage: paused");

        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        Assert.Equal("unavailable", response.Headers.GetValues("x-gateway-cache").Single());
        Assert.Contains("fake gemini reply", body, StringComparison.Ordinal);
    }
}
