using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Ai.Gateway.Tests.Fakes;

namespace Ai.Gateway.Tests.Policy;

/// <summary>Per-model limits held across replicas, 429 with headers, and the per-model circuit breaker.</summary>
public sealed class LimitsAndBreakerTests(RedisFixture redis) : IAsyncLifetime
{
    private FakeGeminiServer _gemini = null!;

    public async ValueTask InitializeAsync() => _gemini = await FakeGeminiServer.StartNewAsync();

    public async ValueTask DisposeAsync() => await _gemini.DisposeAsync();

    [Fact]
    public async Task Two_gateway_instances_sharing_redis_never_exceed_a_models_burst()
    {
        // Burst 3 and an almost zero refill: across both instances only 3 calls may reach the model.
        var suffix = Guid.NewGuid().ToString("N")[..8];
        TestModel[] catalog = [new TestModel("limited", Burst: 3, Qps: 0.001)];
        await using var first = await PolicyGateway.StartAsync(redis, _gemini, catalog, suffix: suffix);
        await using var second = await PolicyGateway.StartAsync(redis, _gemini, catalog, suffix: suffix);

        var calls = Enumerable.Range(0, 12).Select(i => (i % 2 == 0 ? first : second).GenerateAsync(new { input = $"call {i}" }));
        var results = await Task.WhenAll(calls);

        Assert.Equal(3, _gemini.Requests.Count);
        Assert.Equal(3, results.Count(r => r.Response.StatusCode == HttpStatusCode.OK));
        Assert.All(results.Where(r => r.Response.StatusCode != HttpStatusCode.OK), r => Assert.Equal(HttpStatusCode.TooManyRequests, r.Response.StatusCode));
    }

    [Fact]
    public async Task Two_gateway_instances_sharing_redis_never_exceed_a_models_daily_limit()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        TestModel[] catalog = [new TestModel("daily", Burst: 1000, Qps: 1000, DailyLimit: 5)];
        await using var first = await PolicyGateway.StartAsync(redis, _gemini, catalog, suffix: suffix);
        await using var second = await PolicyGateway.StartAsync(redis, _gemini, catalog, suffix: suffix);

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => (i % 2 == 0 ? first : second).GenerateAsync(new { input = $"call {i}" })));

        Assert.Equal(5, _gemini.Requests.Count);
        Assert.Equal(5, results.Count(r => r.Response.StatusCode == HttpStatusCode.OK));
    }

    [Fact]
    public async Task A_rate_limited_chain_answers_429_with_retry_after_and_ratelimit_headers()
    {
        await using var gateway = await PolicyGateway.StartAsync(redis, _gemini, [new TestModel("solo", Burst: 1, Qps: 0.5)]);
        var (first, _) = await gateway.GenerateAsync(new { input = "one" });

        var (response, body) = await gateway.GenerateAsync(new { input = "two" });

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var retryAfter = response.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.InRange(retryAfter.Value.TotalSeconds, 1, 2);
        Assert.Equal("0", Assert.Single(response.Headers.GetValues("RateLimit-Remaining")));
        Assert.True(response.Headers.Contains("RateLimit-Reset"));
        Assert.Equal("rate_limited", body.GetProperty("attempts")[0].GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task A_model_out_of_tokens_falls_back_to_the_next_one()
    {
        await using var gateway = await PolicyGateway.StartAsync(redis, _gemini,
            [new TestModel("tight", Fallbacks: ["spare"], Burst: 1, Qps: 0.001), new TestModel("spare")]);
        await gateway.GenerateAsync(new { input = "uses the only token" });

        var (response, body) = await gateway.GenerateAsync(new { input = "needs a fallback" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal([(gateway.Id("tight"), "rate_limited"), (gateway.Id("spare"), "succeeded")], PolicyGateway.Attempts(body));
        var usage = await gateway.Client.GetFromJsonAsync<JsonElement>("/v1/usage", TestContext.Current.CancellationToken);
        var tight = usage.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("model").GetString() == gateway.Id("tight"));
        Assert.Equal(1, tight.GetProperty("denials").GetInt64());
        Assert.Equal(1, tight.GetProperty("fallbacks").GetInt64());
    }

    [Fact]
    public async Task The_circuit_opens_on_a_failing_model_is_shown_in_models_and_closes_after_a_good_trial()
    {
        await using var gateway = await PolicyGateway.StartAsync(redis, _gemini,
            [new TestModel("flaky", Fallbacks: ["steady"]), new TestModel("steady")],
            new Dictionary<string, string?>
            {
                ["Gateway:Policy:MaxRetries"] = "0",
                ["Gateway:Policy:BreakerMinimumThroughput"] = "2",
                ["Gateway:Policy:BreakerFailureRatio"] = "0.5",
                ["Gateway:Policy:BreakerBreakDuration"] = "00:00:01",
            });
        _gemini.EnqueueFor(gateway.Id("flaky"), GeminiReplies.Error(503, "UNAVAILABLE", "down"), GeminiReplies.Error(503, "UNAVAILABLE", "down"));

        await gateway.GenerateAsync(new { input = "1" });
        await gateway.GenerateAsync(new { input = "2" });
        var (_, skipped) = await gateway.GenerateAsync(new { input = "3" });

        Assert.Equal("circuit_open", skipped.GetProperty("attempts")[0].GetProperty("outcome").GetString());
        Assert.Equal("open", await CircuitOf(gateway, "flaky"));
        Assert.Equal(2, _gemini.Requests.Count(r => r.Model == gateway.Id("flaky")));

        // After the break, one trial call goes through; it succeeds and the circuit closes.
        _gemini.EnqueueFor(gateway.Id("flaky"), GeminiReplies.Text("back"));
        await TestSupport.Eventually.TrueAsync(async () => await CircuitOf(gateway, "flaky") != "open", TimeSpan.FromSeconds(10));
        var (_, recovered) = await gateway.GenerateAsync(new { input = "4" });

        Assert.Equal("back", recovered.GetProperty("output").GetString());
        Assert.Equal("closed", await CircuitOf(gateway, "flaky"));
    }

    [Fact]
    public async Task Models_show_the_serving_provider_and_live_bucket_state()
    {
        await using var gateway = await PolicyGateway.StartAsync(redis, _gemini, [new TestModel("shown", Burst: 5, Qps: 0.001, DailyLimit: 100)]);
        await gateway.GenerateAsync(new { input = "spend one" });

        var models = await gateway.Client.GetFromJsonAsync<JsonElement>("/v1/gateway/models", TestContext.Current.CancellationToken);

        var model = models.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("id").GetString() == gateway.Id("shown"));
        Assert.Equal("gemini", model.GetProperty("servedBy").GetString());
        Assert.Equal("closed", model.GetProperty("circuit").GetString());
        Assert.Equal(4, model.GetProperty("bucket").GetProperty("remaining").GetInt64());
        Assert.Equal(99, model.GetProperty("bucket").GetProperty("dailyRemaining").GetInt64());
    }

    private static async Task<string?> CircuitOf(PolicyGateway gateway, string name)
    {
        var models = await gateway.Client.GetFromJsonAsync<JsonElement>("/v1/gateway/models", TestContext.Current.CancellationToken);
        return models.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("id").GetString() == gateway.Id(name)).GetProperty("circuit").GetString();
    }
}
