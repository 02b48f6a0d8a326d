using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Ai.Gateway.Tests.Fakes;

namespace Ai.Gateway.Tests.Policy;

/// <summary>Retries only for transient failures, fallback in chain order with every attempt recorded.</summary>
public sealed class FallbackAndRetryTests(RedisFixture redis) : IAsyncLifetime
{
    private FakeGeminiServer _gemini = null!;
    private PolicyGateway _gateway = null!;

    public async ValueTask InitializeAsync()
    {
        _gemini = await FakeGeminiServer.StartNewAsync();
        _gateway = await PolicyGateway.StartAsync(redis, _gemini,
        [
            new TestModel("primary", Fallbacks: ["second", "third"]),
            new TestModel("second"),
            new TestModel("third"),
        ]);
    }

    public async ValueTask DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _gemini.DisposeAsync();
    }

    private string Id(string name) => _gateway.Id(name);

    private List<string?> RequestedModels() => _gemini.Requests.Select(r => r.Model).ToList();

    [Fact]
    public async Task A_gemini_answer_reports_model_usage_cost_and_one_attempt()
    {
        _gemini.EnqueueFor(Id("primary"), GeminiReplies.Text("hello there"));

        var (response, body) = await _gateway.GenerateAsync(new { input = "Hi" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("hello there", body.GetProperty("output").GetString());
        Assert.Equal(Id("primary"), body.GetProperty("route").GetProperty("model").GetString());
        Assert.Equal([(Id("primary"), "succeeded")], PolicyGateway.Attempts(body));
        var usage = body.GetProperty("usage");
        Assert.Equal(10, usage.GetProperty("inputTokens").GetInt64());
        Assert.Equal(5, usage.GetProperty("outputTokens").GetInt64());
        // 10 input tokens at $1/M + 5 output tokens at $2/M.
        Assert.Equal(0.00002m, body.GetProperty("costUsd").GetDecimal());
        Assert.Empty(body.GetProperty("fallbacks").EnumerateArray());
    }

    [Fact]
    public async Task A_per_minute_429_is_retried_on_the_same_model_after_the_given_delay()
    {
        _gemini.EnqueueFor(Id("primary"), GeminiReplies.RateLimited("0.3s"), GeminiReplies.Text("after the wait"));

        var (response, body) = await _gateway.GenerateAsync(new { input = "Hi" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal([Id("primary"), Id("primary")], RequestedModels());
        Assert.Equal([(Id("primary"), "failed"), (Id("primary"), "succeeded")], PolicyGateway.Attempts(body));
        Assert.True(body.GetProperty("latencyMs").GetInt64() >= 300, "the retry must wait for RetryInfo's delay");
        Assert.Equal("RateLimited", body.GetProperty("attempts")[0].GetProperty("kind").GetString());
    }

    [Fact]
    public async Task A_per_day_429_goes_straight_to_the_fallback()
    {
        _gemini.EnqueueFor(Id("primary"), GeminiReplies.QuotaExhausted());
        _gemini.EnqueueFor(Id("second"), GeminiReplies.Text("from the fallback"));

        var (response, body) = await _gateway.GenerateAsync(new { input = "Hi" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal([Id("primary"), Id("second")], RequestedModels());
        Assert.Equal([Id("second")], body.GetProperty("fallbacks").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal("QuotaExhausted", body.GetProperty("attempts")[0].GetProperty("kind").GetString());
        Assert.Equal("from the fallback", body.GetProperty("output").GetString());
    }

    [Fact]
    public async Task Server_errors_are_retried_until_an_answer()
    {
        _gemini.EnqueueFor(Id("primary"),
            GeminiReplies.Error(500, "INTERNAL", "boom"),
            GeminiReplies.Error(503, "UNAVAILABLE", "The model is overloaded."),
            GeminiReplies.Text("third time"));

        var (response, body) = await _gateway.GenerateAsync(new { input = "Hi" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, _gemini.Requests.Count);
        Assert.Equal(["failed", "failed", "succeeded"], PolicyGateway.Attempts(body).Select(a => a.Outcome));
    }

    [Theory]
    [InlineData(401, "UNAUTHENTICATED")]
    [InlineData(403, "PERMISSION_DENIED")]
    [InlineData(404, "NOT_FOUND")]
    [InlineData(400, "INVALID_ARGUMENT")]
    public async Task Client_errors_are_not_retried_and_fall_back(int status, string rpcStatus)
    {
        _gemini.EnqueueFor(Id("primary"), GeminiReplies.Error(status, rpcStatus, "no"));
        _gemini.EnqueueFor(Id("second"), GeminiReplies.Text("fallback answer"));

        var (response, body) = await _gateway.GenerateAsync(new { input = "Hi" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal([Id("primary"), Id("second")], RequestedModels());
        Assert.Equal(status, body.GetProperty("attempts")[0].GetProperty("statusCode").GetInt32());
    }

    [Fact]
    public async Task Retries_exhausted_move_on_in_chain_order_and_each_attempt_is_listed()
    {
        _gemini.EnqueueFor(Id("primary"), GeminiReplies.Error(503, "UNAVAILABLE", "a"), GeminiReplies.Error(503, "UNAVAILABLE", "b"), GeminiReplies.Error(503, "UNAVAILABLE", "c"));
        _gemini.EnqueueFor(Id("second"), GeminiReplies.Error(404, "NOT_FOUND", "retired"));
        _gemini.EnqueueFor(Id("third"), GeminiReplies.Text("last resort"));

        var (_, body) = await _gateway.GenerateAsync(new { input = "Hi" });

        Assert.Equal(
            [(Id("primary"), "failed"), (Id("primary"), "failed"), (Id("primary"), "failed"), (Id("second"), "failed"), (Id("third"), "succeeded")],
            PolicyGateway.Attempts(body));
        Assert.Equal([Id("third")], body.GetProperty("fallbacks").EnumerateArray().Select(f => f.GetString()));
        Assert.All(body.GetProperty("attempts").EnumerateArray(), a => Assert.True(a.GetProperty("latencyMs").GetInt64() >= 0));
    }

    [Fact]
    public async Task When_every_model_fails_the_answer_is_502_with_the_attempts()
    {
        _gemini.DefaultReply = GeminiReplies.Error(400, "INVALID_ARGUMENT", "bad");

        var (response, body) = await _gateway.GenerateAsync(new { input = "Hi" });

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(3, body.GetProperty("attempts").GetArrayLength());
    }

    [Fact]
    public async Task A_safety_block_is_not_retried_and_falls_back_only_when_configured()
    {
        await using var gateway = await PolicyGateway.StartAsync(redis, _gemini,
            [new TestModel("primary", Fallbacks: ["second", "third"]), new TestModel("second"), new TestModel("third")],
            new Dictionary<string, string?> { ["Gateway:Policy:FallbackOnSafetyBlock"] = "true" });
        _gemini.EnqueueFor(gateway.Id("primary"), FakeReply.Json("""{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":3,"totalTokenCount":3}}"""));
        _gemini.EnqueueFor(gateway.Id("second"), GeminiReplies.Text("safe answer"));

        var (response, body) = await gateway.GenerateAsync(new { input = "Hi" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal([gateway.Id("primary"), gateway.Id("second")], RequestedModels());
        Assert.Equal("ContentBlocked", body.GetProperty("attempts")[0].GetProperty("kind").GetString());
    }

    [Fact]
    public async Task A_slow_model_times_out_per_attempt_and_the_chain_moves_on()
    {
        await using var gateway = await PolicyGateway.StartAsync(redis, _gemini,
            [new TestModel("slow", Fallbacks: ["fast"]), new TestModel("fast")],
            new Dictionary<string, string?> { ["Gateway:Policy:AttemptTimeout"] = "00:00:00.300", ["Gateway:Policy:MaxRetries"] = "1" });
        _gemini.EnqueueFor(gateway.Id("slow"), FakeReply.Stall(), FakeReply.Stall());
        _gemini.EnqueueFor(gateway.Id("fast"), GeminiReplies.Text("quick"));

        var (response, body) = await gateway.GenerateAsync(new { input = "Hi" });

        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
        Assert.True(body.GetProperty("attempts").GetArrayLength() == 3, body.ToString());
        Assert.Equal(["Timeout", "Timeout"], body.GetProperty("attempts").EnumerateArray().Take(2).Select(a => a.GetProperty("kind").GetString()));
        Assert.Equal("quick", body.GetProperty("output").GetString());
    }

    [Fact]
    public async Task The_callers_cancellation_reaches_the_provider_call()
    {
        _gemini.EnqueueFor(Id("primary"), FakeReply.Stall());
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);

        var call = _gateway.Client.PostAsJsonAsync("/v1/generate", new { input = "Hi" }, cancel.Token);
        var upstream = await _gemini.WaitForRequestAsync(0);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        await upstream.Aborted.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Single(_gemini.Requests);
    }

    [Fact]
    public async Task Bad_requests_are_400_with_the_field_and_reach_no_provider()
    {
        foreach (var (request, field) in new (object Request, string Field)[]
                 {
                     (new { input = "a", messages = new[] { new { role = "user", content = "b" } } }, "input"),
                     (new { input = "a", model = "no-such-model" }, "model"),
                     (new { input = "a", tools = new[] { "rm_rf" } }, "tools"),
                     (new { input = "a", temperature = 7 }, "temperature"),
                     (new { input = "a", schema = new { type = "no-such-type" } }, "schema"),
                     (new { input = "a", colour = "red" }, "colour"),
                     (new { input = "a", preset = "poet" }, "preset"),
                     (new { messages = new[] { new { role = "robot", content = "b" } } }, "messages[0]"),
                 })
        {
            var (response, body) = await _gateway.GenerateAsync(request);

            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.True(body.GetProperty("errors").TryGetProperty(field, out _), $"{field}: {body}");
        }

        Assert.Empty(_gemini.Requests);
    }
}
