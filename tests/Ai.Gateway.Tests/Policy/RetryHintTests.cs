using System.ClientModel;
using Ai.Gateway.Providers;
using Ai.Gateway.Tests.Fakes;
using Ai.Gateway.Tests.OpenAICompat;
using OpenAI.Chat;

namespace Ai.Gateway.Tests.Policy;

/// <summary>
/// What the gateway tells a client about retrying: x-should-retry false when it already retried or the request cannot
/// succeed, Retry-After that points at the quota reset for a per-day quota, and retry hints read from the error text.
/// </summary>
public sealed class RetryHintTests(RedisFixture redis) : IAsyncLifetime
{
    private FakeGeminiServer _gemini = null!;
    private PolicyGateway _gateway = null!;

    public async ValueTask InitializeAsync()
    {
        _gemini = await FakeGeminiServer.StartNewAsync();
        _gateway = await PolicyGateway.StartAsync(redis, _gemini, [new TestModel("only")]);
    }

    public async ValueTask DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _gemini.DisposeAsync();
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private ChatClient Client() => OpenAISdk.ChatClient(_gateway, _gateway.Id("only"));

    private static string? Header(ClientResultException error, string name) =>
        error.GetRawResponse()!.Headers.TryGetValue(name, out var value) ? value : null;

    [Theory]
    [InlineData("Please retry in 1m5.5s.", 65.5)]
    [InlineData("Please retry in 47.434392449s.", 47.434392449)]
    [InlineData("Quota exceeded; retry in 1h2m.", 3720)]
    [InlineData("retry in 750ms", 0.75)]
    public void A_retry_hint_in_the_error_text_is_understood(string message, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), ProviderErrorBody.ParseRetryHint(message));

    [Fact]
    public async Task A_wait_given_only_in_the_error_text_is_honoured_and_passed_on()
    {
        // 65.5 s is over MaxRetryDelay (20 s): no retry of the model, a 429 that says how long to wait.
        _gemini.EnqueueFor(_gateway.Id("only"), GeminiReplies.Error(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota. Please retry in 1m5.5s."));

        var error = await Assert.ThrowsAsync<ClientResultException>(() => Client().CompleteChatAsync([new UserChatMessage("Hi")], cancellationToken: Ct));

        Assert.Equal(429, error.Status);
        Assert.Equal("66", Header(error, "Retry-After"));
        Assert.Equal("false", Header(error, "x-should-retry"));
        Assert.Single(_gemini.Requests);
    }

    [Fact]
    public async Task A_per_day_quota_with_no_fallback_points_retry_after_at_the_quota_reset()
    {
        _gemini.EnqueueFor(_gateway.Id("only"), GeminiReplies.QuotaExhausted());

        var error = await Assert.ThrowsAsync<ClientResultException>(() => Client().CompleteChatAsync([new UserChatMessage("Hi")], cancellationToken: Ct));

        // The test gateway's quotas reset at midnight UTC.
        var now = DateTimeOffset.UtcNow;
        var untilMidnight = (now.UtcDateTime.Date.AddDays(1) - now.UtcDateTime).TotalSeconds;
        Assert.Equal(429, error.Status);
        Assert.InRange(int.Parse(Header(error, "Retry-After")!, System.Globalization.CultureInfo.InvariantCulture), untilMidnight - 120, untilMidnight + 120);
        Assert.Equal("false", Header(error, "x-should-retry"));
    }

    [Fact]
    public async Task A_failure_the_gateway_already_retried_says_x_should_retry_false()
    {
        _gemini.DefaultReply = GeminiReplies.Error(503, "UNAVAILABLE", "overloaded");

        var error = await Assert.ThrowsAsync<ClientResultException>(() => Client().CompleteChatAsync([new UserChatMessage("Hi")], cancellationToken: Ct));
        var (generate, _) = await _gateway.GenerateAsync(new { input = "Hi" });

        Assert.Equal(502, error.Status);
        Assert.Equal("false", Header(error, "x-should-retry"));
        Assert.Equal(System.Net.HttpStatusCode.BadGateway, generate.StatusCode);
        Assert.Equal("false", generate.Headers.GetValues("x-should-retry").Single());
    }

    [Fact]
    public async Task A_per_minute_limit_with_a_short_wait_lets_the_client_retry()
    {
        _gemini.EnqueueFor(_gateway.Id("only"), GeminiReplies.RateLimited("30s"));

        var error = await Assert.ThrowsAsync<ClientResultException>(() => Client().CompleteChatAsync([new UserChatMessage("Hi")], cancellationToken: Ct));

        Assert.Equal(429, error.Status);
        Assert.Equal("30", Header(error, "Retry-After"));
        Assert.Equal("true", Header(error, "x-should-retry"));
    }

    [Fact]
    public async Task An_invalid_request_says_x_should_retry_false()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            Client().CompleteChatAsync([new UserChatMessage("Hi")], new ChatCompletionOptions { Temperature = 5 }, Ct));

        Assert.Equal(400, error.Status);
        Assert.Equal("false", Header(error, "x-should-retry"));
    }
}
