using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TestSupport;

namespace Orchestration.Api.Tests.Faults;

/// <summary>
/// With Redis gone, every route that needs it answers 503 problem details with a Retry-After (the client may try
/// again), never a 500 and never a stack trace; and the service answers normally once Redis is back.
/// </summary>
public sealed class RedisDownAnswersTests : IAsyncLifetime
{
    private RedisServer _redis = null!;
    private ServiceFactory<Program> _factory = null!;
    private HttpClient _api = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _factory = new ServiceFactory<Program>(_redis.ConnectionString, new Dictionary<string, string?>
        {
            // Fail fast instead of queueing commands for the default 5 s.
            ["ConnectionStrings:redis"] = _redis.ConnectionString + ",connectTimeout=500,syncTimeout=1000,asyncTimeout=1000",
        });
        _api = _factory.CreateAuthorizedClient();
        using var warm = await _api.GetAsync("/api/workflows", Ct);
        Assert.Equal(HttpStatusCode.OK, warm.StatusCode);
    }

    public async ValueTask DisposeAsync()
    {
        _api.Dispose();
        await _factory.DisposeAsync();
        await _redis.DisposeAsync();
    }

    public static TheoryData<string, string, string?> Routes() => new()
    {
        { "GET", "/api/workflows", null },
        { "GET", "/api/runs", null },
        { "GET", "/api/runs/run-that-is-not-there", null },
        { "POST", "/api/workflows/software-team/runs", """{"input":{"task":"x"}}""" },
        { "GET", "/api/agents", null },
        { "POST", "/api/agents", """{"id":"a1","name":"A1","topic":"agent.a1","capabilities":["x"],"heartbeatTtlSeconds":60}""" },
    };

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task A_route_that_needs_Redis_answers_503_problem_details_while_Redis_is_down(string method, string path, string? body)
    {
        _redis.Stop();

        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        }

        using var response = await _api.SendAsync(request, Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);

        Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{method} {path}: {(int)response.StatusCode} {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.NotNull(response.Headers.RetryAfter);
        using var problem = JsonDocument.Parse(text);
        Assert.Equal(503, problem.RootElement.GetProperty("status").GetInt32());
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);

        await _redis.RestartAsync();
        await Eventually.TrueAsync(async () =>
        {
            using var again = await _api.GetAsync("/api/workflows", Ct);
            return again.StatusCode == HttpStatusCode.OK;
        }, TimeSpan.FromSeconds(60), "the service answers again once Redis is back");
    }
}
