using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ai.Gateway.Tests.Fakes;
using Ai.Gateway.Tests.OpenAICompat;
using Ai.Gateway.Tests.Policy;
using OpenAI.Embeddings;

namespace Ai.Gateway.Tests.Embeddings;

/// <summary>
/// <c>POST /v1/embeddings</c> on the real gateway (in-process Kestrel, the shared Redis) against fake Gemini and
/// OpenAI-compatible servers on loopback: the Gemini REST shapes, the OpenAI SDK on both sides, the offline generator,
/// fallback, shared rate limits, usage and cost, and the 4xx answers for what cannot be embedded.
/// </summary>
public sealed class EmbeddingsTests(RedisFixture redis) : IAsyncLifetime
{
    private FakeGeminiServer _gemini = null!;
    private FakeOpenAIServer _openAI = null!;
    private PolicyGateway _gateway = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _gemini = await FakeGeminiServer.StartNewAsync();
        _gemini.DefaultReply = EmbeddingReplies.Gemini();
        _openAI = await FakeOpenAIServer.StartNewAsync();
        _openAI.DefaultReply = EmbeddingReplies.OpenAI();
        var suffix = Guid.NewGuid().ToString("N")[..8];
        _gateway = await PolicyGateway.StartAsync(redis, _gemini,
        [
            new TestModel("flash"),
            new TestModel("embed", ["embed-lite"], Kind: "Embedding", Dimensions: 8, InputPrice: 2m),
            new TestModel("embed-lite", Kind: "Embedding", Dimensions: 8, InputPrice: 1m),
            new TestModel("embed-gpt", Provider: "openai", Kind: "Embedding", InputPrice: 10m),
            new TestModel("embed-off", Provider: "offline", Kind: "Embedding", Dimensions: 16),
            new TestModel("embed-tight", Kind: "Embedding", Burst: 1, Qps: 0.001),
        ],
            new Dictionary<string, string?>
            {
                ["OpenAI:ApiKey"] = FakeOpenAIServer.ApiKey,
                ["OpenAI:Endpoint"] = _openAI.Endpoint.ToString(),
                ["Gateway:DefaultEmbeddingModel"] = $"embed-{suffix}",
                ["Gateway:Embeddings:MaxInputs"] = "4",
                ["Gateway:Embeddings:MaxInputCharacters"] = "100",
            },
            suffix);
    }

    public async ValueTask DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _gemini.DisposeAsync();
        await _openAI.DisposeAsync();
    }

    private string Id(string name) => _gateway.Id(name);

    private async Task<(HttpResponseMessage Response, JsonElement Body)> EmbedAsync(string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        var response = await _gateway.Client.PostAsync("/v1/embeddings", content, Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        return (response, JsonDocument.Parse(text).RootElement.Clone());
    }

    private static float[] Vector(JsonElement item) => item.GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()).ToArray();

    private EmbeddingClient Sdk(string model) => new(model, new ApiKeyCredential(TestSupport.ServiceFactory<Program>.ApiKey), OpenAISdk.Options(_gateway));

    [Fact]
    public async Task One_text_goes_to_gemini_embedContent_and_comes_back_in_openai_s_shape()
    {
        var (response, body) = await EmbedAsync($$"""{"input":"hello","model":"{{Id("embed")}}","dimensions":3,"user":"u-1"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sent = Assert.Single(_gemini.Requests);
        Assert.Equal($"/v1beta/models/{Id("embed")}:embedContent", sent.Path);
        Assert.Equal(FakeGeminiServer.ApiKey, sent.Header("x-goog-api-key"));
        Assert.Equal("hello", sent.Json["content"]!["parts"]![0]!["text"]!.GetValue<string>());
        Assert.Equal(3, sent.Json["outputDimensionality"]!.GetValue<int>());

        Assert.Equal("list", body.GetProperty("object").GetString());
        Assert.Equal(Id("embed"), body.GetProperty("model").GetString());
        var item = Assert.Single(body.GetProperty("data").EnumerateArray());
        Assert.Equal("embedding", item.GetProperty("object").GetString());
        Assert.Equal(0, item.GetProperty("index").GetInt32());
        Assert.Equal(EmbeddingReplies.VectorFor("hello", 0, 3), Vector(item));
        // Gemini's Developer API reports no tokens for embeddings: a quarter of the characters, rounded up.
        Assert.Equal(2, body.GetProperty("usage").GetProperty("prompt_tokens").GetInt64());
        Assert.Equal(2, body.GetProperty("usage").GetProperty("total_tokens").GetInt64());
        Assert.Equal(0.000004m, body.GetProperty("x_gateway").GetProperty("costUsd").GetDecimal());
    }

    [Fact]
    public async Task Many_texts_go_to_gemini_batchEmbedContents_and_keep_their_order()
    {
        var (response, body) = await EmbedAsync("""{"input":["a","bb","ccc"]}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sent = Assert.Single(_gemini.Requests);
        Assert.Equal($"/v1beta/models/{Id("embed")}:batchEmbedContents", sent.Path);
        var requests = sent.Json["requests"]!.AsArray();
        Assert.Equal(["a", "bb", "ccc"], requests.Select(r => r!["content"]!["parts"]![0]!["text"]!.GetValue<string>()));
        Assert.All(requests, r => Assert.Equal($"models/{Id("embed")}", r!["model"]!.GetValue<string>()));
        Assert.Equal("default embedding model", body.GetProperty("x_gateway").GetProperty("route").GetProperty("reason").GetString());
        var data = body.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal([0, 1, 2], data.Select(d => d.GetProperty("index").GetInt32()));
        Assert.Equal(EmbeddingReplies.VectorFor("bb", 1), Vector(data[1]));
    }

    [Fact]
    public async Task Gemini_s_usage_metadata_when_present_is_the_usage()
    {
        _gemini.EnqueueFor(Id("embed"), EmbeddingReplies.Gemini(new System.Text.Json.Nodes.JsonObject { ["promptTokenCount"] = 42 }));

        var (_, body) = await EmbedAsync("""{"input":"hello"}""");

        Assert.Equal(42, body.GetProperty("usage").GetProperty("prompt_tokens").GetInt64());
    }

    [Fact]
    public async Task A_failing_embedding_model_is_retried_then_falls_back_and_usage_and_cost_count_like_chat()
    {
        _gemini.EnqueueFor(Id("embed"),
            GeminiReplies.Error(503, "UNAVAILABLE", "overloaded"), GeminiReplies.Error(503, "UNAVAILABLE", "overloaded"), GeminiReplies.Error(503, "UNAVAILABLE", "overloaded"));

        var (response, body) = await EmbedAsync("""{"input":["one text","another text"]}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Id("embed-lite"), body.GetProperty("model").GetString());
        var gateway = body.GetProperty("x_gateway");
        Assert.Equal([Id("embed-lite")], gateway.GetProperty("fallbacks").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal(
            [(Id("embed"), "failed"), (Id("embed"), "failed"), (Id("embed"), "failed"), (Id("embed-lite"), "succeeded")],
            OpenAISdk.Attempts(gateway));
        Assert.Equal(2, body.GetProperty("data").GetArrayLength());

        var usage = await _gateway.Client.GetFromJsonAsync<JsonElement>("/v1/usage", Ct);
        var models = usage.GetProperty("models").EnumerateArray().ToDictionary(m => m.GetProperty("model").GetString()!);
        var lite = models[Id("embed-lite")];
        Assert.Equal(1, lite.GetProperty("requests").GetInt64());
        // "one text" and "another text": 20 characters, 5 tokens at $1 per million.
        Assert.Equal(5, lite.GetProperty("inputTokens").GetInt64());
        Assert.Equal(0.000005m, lite.GetProperty("costUsd").GetDecimal());
        // As for chat: one failure per model that gave up (after its retries), one fallback on the requested model.
        Assert.Equal(1, models[Id("embed")].GetProperty("failures").GetInt64());
        Assert.Equal(1, models[Id("embed")].GetProperty("fallbacks").GetInt64());
    }

    [Fact]
    public async Task An_embedding_model_over_its_shared_rate_limit_is_a_429_with_retry_after()
    {
        var first = await EmbedAsync($$"""{"input":"x","model":"{{Id("embed-tight")}}"}""");
        var (response, body) = await EmbedAsync($$"""{"input":"x","model":"{{Id("embed-tight")}}"}""");

        Assert.Equal(HttpStatusCode.OK, first.Response.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Equal("false", response.Headers.GetValues("x-should-retry").Single());
        Assert.Equal("rate_limit_exceeded", body.GetProperty("error").GetProperty("code").GetString());
        Assert.Single(_gemini.Requests);
    }

    [Fact]
    public async Task The_openai_sdk_s_embedding_client_reaches_an_openai_compatible_upstream_through_the_gateway()
    {
        var result = await Sdk(Id("embed-gpt")).GenerateEmbeddingsAsync(["first", "second one"], new EmbeddingGenerationOptions { Dimensions = 5 }, Ct);

        var sent = Assert.Single(_openAI.Requests);
        Assert.Equal("/v1/embeddings", sent.Path);
        Assert.Equal(Id("embed-gpt"), sent.Json["model"]!.GetValue<string>());
        Assert.Equal(5, sent.Json["dimensions"]!.GetValue<int>());
        Assert.Equal($"Bearer {FakeOpenAIServer.ApiKey}", sent.Header("Authorization"));
        // The SDK asks the gateway for base64 and decodes it: the upstream's vectors arrive exactly.
        Assert.Equal(EmbeddingReplies.VectorFor("first", 0, 5), result.Value[0].ToFloats().ToArray());
        Assert.Equal(EmbeddingReplies.VectorFor("second one", 1, 5), result.Value[1].ToFloats().ToArray());
        Assert.Equal(7, result.Value.Usage.InputTokenCount);
        Assert.Equal(Id("embed-gpt"), result.Value.Model);
        // 7 tokens at $10 per million, as the upstream counted them.
        Assert.Equal(0.00007m, OpenAISdk.Gateway(result).GetProperty("costUsd").GetDecimal());
    }

    [Fact]
    public async Task The_offline_generator_gives_deterministic_unit_vectors_of_the_model_s_length()
    {
        var model = Id("embed-off");
        var (_, body) = await EmbedAsync($$"""{"input":["the cat sat on the mat","the cat sat on a mat","quarterly revenue forecast","the cat sat on the mat"],"model":"{{model}}"}""");
        var (_, shorter) = await EmbedAsync($$"""{"input":"the cat sat on the mat","model":"{{model}}","dimensions":4}""");
        var (_, encoded) = await EmbedAsync($$"""{"input":"the cat sat on the mat","model":"{{model}}","encoding_format":"base64"}""");

        Assert.Equal("offline", body.GetProperty("model").GetString());
        var vectors = body.GetProperty("data").EnumerateArray().Select(Vector).ToList();
        Assert.All(vectors, v => Assert.Equal(16, v.Length));
        Assert.All(vectors, v => Assert.Equal(1.0, Math.Sqrt(v.Sum(x => (double)x * x)), 5));
        Assert.Equal(vectors[0], vectors[3]);
        static double Cosine(float[] a, float[] b) => a.Zip(b).Sum(p => (double)p.First * p.Second);
        Assert.True(Cosine(vectors[0], vectors[1]) > Cosine(vectors[0], vectors[2]));
        Assert.Equal(4, Vector(shorter.GetProperty("data")[0]).Length);
        var bytes = Convert.FromBase64String(encoded.GetProperty("data")[0].GetProperty("embedding").GetString()!);
        Assert.Equal(vectors[0], System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray());
        Assert.Equal(0m, body.GetProperty("x_gateway").GetProperty("costUsd").GetDecimal());
        Assert.True(body.GetProperty("usage").GetProperty("prompt_tokens").GetInt64() > 0);
        Assert.Empty(_gemini.Requests);
    }

    [Theory]
    [InlineData("""{"input":[1,2,3]}""", 400, "input", "unsupported_value")]
    [InlineData("""{"input":[[1,2],[3]]}""", 400, "input", "unsupported_value")]
    [InlineData("""{"input":""}""", 400, "input", "invalid_value")]
    [InlineData("""{"input":[]}""", 400, "input", "invalid_value")]
    [InlineData("""{"input":["ok",null]}""", 400, "input[1]", "invalid_value")]
    [InlineData("""{"input":{"text":"x"}}""", 400, "input", "invalid_value")]
    [InlineData("""{"model":"{embed}"}""", 400, "input", "missing_required_parameter")]
    [InlineData("""{"input":["a","b","c","d","e"]}""", 400, "input", "invalid_value")]
    [InlineData("""{"input":"x","model":"{flash}"}""", 400, "model", "model_not_supported")]
    [InlineData("""{"input":"x","model":"no-such-model"}""", 404, "model", "model_not_found")]
    [InlineData("""{"input":"x","encoding_format":"int8"}""", 400, "encoding_format", "unsupported_value")]
    [InlineData("""{"input":"x","dimensions":0}""", 400, "dimensions", "invalid_value")]
    [InlineData("""{"input":"x","dimensions":9}""", 400, "dimensions", "invalid_value")]
    [InlineData("""{"input":"x","logit_bias":{}}""", 400, "logit_bias", "invalid_value")]
    public async Task What_cannot_be_embedded_is_a_4xx_in_openai_s_error_shape_and_reaches_no_model(string json, int status, string param, string code)
    {
        var (response, body) = await EmbedAsync(json.Replace("{embed}", Id("embed"), StringComparison.Ordinal).Replace("{flash}", Id("flash"), StringComparison.Ordinal));

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("false", response.Headers.GetValues("x-should-retry").Single());
        var error = body.GetProperty("error");
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.Empty(_gemini.Requests);
    }

    [Fact]
    public async Task A_text_over_the_configured_length_is_a_400_naming_the_setting()
    {
        var (response, body) = await EmbedAsync($$"""{"input":["short","{{new string('x', 101)}}"]}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("input[1]", body.GetProperty("error").GetProperty("param").GetString());
        Assert.Contains("Gateway:Embeddings:MaxInputCharacters", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_embedding_model_on_the_chat_routes_is_a_400()
    {
        var (chat, chatBody) = await OpenAISdk.PostAsync(_gateway, new { model = Id("embed"), messages = new[] { new { role = "user", content = "hi" } } });
        var (generate, generateBody) = await _gateway.GenerateAsync(new { input = "hi", model = Id("embed") });

        Assert.Equal(HttpStatusCode.BadRequest, chat.StatusCode);
        Assert.Equal("model_not_supported", chatBody.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, generate.StatusCode);
        Assert.Contains("embedding model", generateBody.GetProperty("errors").GetProperty("model")[0].GetString(), StringComparison.Ordinal);
        Assert.Empty(_gemini.Requests);
    }

    [Fact]
    public async Task The_embedding_models_do_not_take_chat_traffic_by_route_hints()
    {
        // The cost hint picks the first Flash-tier model by id: the embedding models (also Flash tier, "embed-…") come first.
        _gemini.EnqueueFor(Id("flash"), GeminiReplies.Text("hello"));

        var (response, body) = await _gateway.GenerateAsync(new { input = "hi", route = new { cost = "low" } });

        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
        Assert.Equal(Id("flash"), body.GetProperty("route").GetProperty("model").GetString());
    }
}
