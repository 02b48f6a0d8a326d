using System.Net;
using System.Text.Json.Nodes;
using Ai.Gateway.Providers;
using Ai.Gateway.Tests.Fakes;
using Microsoft.Extensions.AI;

namespace Ai.Gateway.Tests.Providers;

public sealed class OpenAICompatibleChatClientTests : IAsyncLifetime
{
    private FakeOpenAIServer _server = null!;

    public async ValueTask InitializeAsync() => _server = await FakeOpenAIServer.StartNewAsync();

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Completes_a_chat_against_an_openai_compatible_endpoint()
    {
        _server.Enqueue(OpenAIReplies.Completion("Bonjour", "gpt-test"));
        using var client = _server.CreateClient("gpt-test");

        var response = await client.GetResponseAsync(
            [new(ChatRole.System, "You translate."), new(ChatRole.User, "Hello in French?")],
            new ChatOptions { Temperature = 0.5f, MaxOutputTokens = 20 }, Ct);

        var request = Assert.Single(_server.Requests);
        Assert.Equal("/v1/chat/completions", request.Path);
        Assert.Equal($"Bearer {FakeOpenAIServer.ApiKey}", request.Header("Authorization"));
        Assert.Equal("gpt-test", (string)request.Json["model"]!);
        Assert.Equal(["system", "user"], request.Json["messages"]!.AsArray().Select(m => (string)m!["role"]!));
        Assert.Equal(0.5, (double)request.Json["temperature"]!, 3);

        Assert.Equal("Bonjour", response.Text);
        Assert.Equal(9, response.Usage!.InputTokenCount);
        Assert.Equal(3, response.Usage.OutputTokenCount);
        Assert.Equal("openai", client.GetService<ChatClientMetadata>()!.ProviderName);
    }

    [Fact]
    public async Task Streams_chat_completion_chunks()
    {
        _server.Enqueue(OpenAIReplies.Stream(["Bon", "jour", "!"], newline: "\r\n"));
        using var client = _server.CreateClient();

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync("Hello in French?", cancellationToken: Ct))
        {
            updates.Add(update);
        }

        Assert.True((bool)_server.Requests[0].Json["stream"]!);
        Assert.Equal("Bonjour!", string.Concat(updates.Select(u => u.Text)));
        var usage = Assert.Single(updates.SelectMany(u => u.Contents).OfType<UsageContent>());
        Assert.Equal(12, usage.Details.TotalTokenCount);
    }

    [Fact]
    public async Task A_429_with_retry_after_is_rate_limited_after_one_attempt()
    {
        _server.Enqueue(OpenAIReplies.Error(429, "Rate limit reached", "requests", "rate_limit_exceeded",
            new Dictionary<string, string> { ["Retry-After"] = "7" }));
        using var client = _server.CreateClient();

        var failure = await Assert.ThrowsAsync<ModelProviderException>(() => client.GetResponseAsync("Hi", cancellationToken: Ct));

        Assert.Equal(ModelFailureKind.RateLimited, failure.Kind);
        Assert.True(failure.IsRetryable);
        Assert.Equal(TimeSpan.FromSeconds(7), failure.RetryAfter);
        Assert.Equal(HttpStatusCode.TooManyRequests, failure.StatusCode);
        Assert.Equal("rate_limit_exceeded", failure.ProviderStatus);
        Assert.Equal("openai", failure.Provider);
        Assert.Single(_server.Requests);
    }

    [Fact]
    public async Task Gemini_compatibility_errors_keep_retry_info_and_the_daily_quota()
    {
        // Gemini's OpenAI-compatible endpoint wraps the Google RPC error in an array.
        var perMinute = new JsonArray(GeminiReplies.ErrorBody(429, "RESOURCE_EXHAUSTED", "slow down",
            GeminiReplies.QuotaFailure(GeminiReplies.PerMinuteQuota), GeminiReplies.RetryInfo("4s")));
        var perDay = new JsonArray(GeminiReplies.ErrorBody(429, "RESOURCE_EXHAUSTED", "daily quota",
            GeminiReplies.QuotaFailure(GeminiReplies.PerDayQuota)));
        _server.Enqueue(FakeReply.Json(perMinute.ToJsonString(), 429), FakeReply.Json(perDay.ToJsonString(), 429));
        using var client = _server.CreateClient("gemini-3.5-flash");

        var minute = await Assert.ThrowsAsync<ModelProviderException>(() => client.GetResponseAsync("Hi", cancellationToken: Ct));
        var day = await Assert.ThrowsAsync<ModelProviderException>(() => client.GetResponseAsync("Hi", cancellationToken: Ct));

        Assert.Equal(ModelFailureKind.RateLimited, minute.Kind);
        Assert.Equal(TimeSpan.FromSeconds(4), minute.RetryAfter);
        Assert.Equal("RESOURCE_EXHAUSTED", minute.ProviderStatus);
        Assert.Equal(ModelFailureKind.QuotaExhausted, day.Kind);
        Assert.False(day.IsRetryable);
    }

    [Theory]
    [InlineData(500, ModelFailureKind.Transient, true)]
    [InlineData(503, ModelFailureKind.Transient, true)]
    [InlineData(400, ModelFailureKind.InvalidRequest, false)]
    [InlineData(401, ModelFailureKind.Unauthorized, false)]
    [InlineData(403, ModelFailureKind.Unauthorized, false)]
    [InlineData(404, ModelFailureKind.NotFound, false)]
    public async Task Http_errors_map_to_a_failure_kind_after_exactly_one_attempt(int status, ModelFailureKind kind, bool retryable)
    {
        _server.Enqueue(OpenAIReplies.Error(status, $"failure {status}"));
        using var client = _server.CreateClient();

        var failure = await Assert.ThrowsAsync<ModelProviderException>(() => client.GetResponseAsync("Hi", cancellationToken: Ct));

        Assert.Equal(kind, failure.Kind);
        Assert.Equal(retryable, failure.IsRetryable);
        Assert.Equal((HttpStatusCode)status, failure.StatusCode);
        Assert.Contains($"failure {status}", failure.Message, StringComparison.Ordinal);
        Assert.Single(_server.Requests);
    }

    [Fact]
    public async Task A_streaming_request_that_fails_up_front_is_mapped_too()
    {
        _server.Enqueue(OpenAIReplies.Error(503, "overloaded"));
        using var client = _server.CreateClient();

        var failure = await Assert.ThrowsAsync<ModelProviderException>(async () =>
        {
            await foreach (var _ in client.GetStreamingResponseAsync("Hi", cancellationToken: Ct))
            {
            }
        });

        Assert.Equal(ModelFailureKind.Transient, failure.Kind);
        Assert.Single(_server.Requests);
    }

    [Fact]
    public async Task A_key_echoed_by_the_server_stays_out_of_the_message()
    {
        _server.Enqueue(OpenAIReplies.Error(401, $"Incorrect API key provided: {FakeOpenAIServer.ApiKey}", "invalid_request_error", "invalid_api_key"));
        using var client = _server.CreateClient();

        var failure = await Assert.ThrowsAsync<ModelProviderException>(() => client.GetResponseAsync("Hi", cancellationToken: Ct));

        Assert.Equal(ModelFailureKind.Unauthorized, failure.Kind);
        Assert.DoesNotContain(FakeOpenAIServer.ApiKey, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_malformed_success_body_is_an_invalid_response()
    {
        _server.Enqueue(FakeReply.Json("""{"id": "x", "choices": [ """));
        using var client = _server.CreateClient();

        var failure = await Assert.ThrowsAsync<ModelProviderException>(() => client.GetResponseAsync("Hi", cancellationToken: Ct));

        Assert.Equal(ModelFailureKind.InvalidResponse, failure.Kind);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_slow_upstream_times_out_with_the_configured_timeout()
    {
        _server.Enqueue(FakeReply.Stall());
        using var client = _server.CreateClient(requestTimeout: TimeSpan.FromMilliseconds(300));

        var failure = await Assert.ThrowsAsync<ModelProviderException>(() => client.GetResponseAsync("Hi", cancellationToken: TestContext.Current.CancellationToken));

        Assert.Equal(ModelFailureKind.Timeout, failure.Kind);
        // On a loaded machine the timeout can pass before the request even reached the server (seen in CI at load
        // average ~60); a request that did arrive is aborted, not left hanging.
        if (_server.Requests.Count > 0)
        {
            await _server.Requests[0].Aborted.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        }
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

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        await request.Aborted.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
    }
}
