using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Orchestration.Api.Tests.Functional;

/// <summary>The walking-skeleton guarantees: API keys, health endpoints, body limits.</summary>
public sealed class ServiceBasicsTests(RedisFixture redis) : IAsyncLifetime
{
    private OrchestrationApiFactory _factory = null!;

    public ValueTask InitializeAsync()
    {
        _factory = new OrchestrationApiFactory(redis, new Dictionary<string, string?> { ["Api:MaxRequestBodyBytes"] = "1024" });
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => _factory.DisposeAsync();

    [Fact]
    public async Task Agents_without_a_key_is_401_problem_details()
    {
        using var client = _factory.CreateClient();

        using var response = await client.GetAsync("/api/agents", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
        Assert.Equal(401, problem.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task Agents_with_a_wrong_key_is_401()
    {
        using var client = _factory.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", "not-the-key-0123456789");

        using var response = await client.GetAsync("/api/agents", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Agents_with_the_key_in_either_header_is_200()
    {
        using var client = _factory.CreateClient();
        using var viaHeader = new HttpRequestMessage(HttpMethod.Get, "/api/agents");
        viaHeader.Headers.Add("X-Api-Key", TestSupport.ServiceFactory<Program>.ApiKey);
        using var viaBearer = new HttpRequestMessage(HttpMethod.Get, "/api/agents");
        viaBearer.Headers.Authorization = new("Bearer", TestSupport.ServiceFactory<Program>.ApiKey);

        using var first = await client.SendAsync(viaHeader, TestContext.Current.CancellationToken);
        using var second = await client.SendAsync(viaBearer, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        var agents = await first.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
        Assert.Equal(JsonValueKind.Array, agents.ValueKind);
    }

    [Theory]
    [InlineData("/alive")]
    [InlineData("/health")]
    [InlineData("/health/ready")]
    public async Task Health_endpoints_are_open_and_healthy(string path)
    {
        using var client = _factory.CreateClient();

        using var response = await client.GetAsync(path, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Readiness_reports_unhealthy_when_redis_is_unreachable()
    {
        await using var factory = new OrchestrationApiFactory(redis, new Dictionary<string, string?>
        {
            ["ConnectionStrings:redis"] = "127.0.0.1:1,abortConnect=false,connectTimeout=200",
        });
        using var client = factory.CreateClient();

        using var ready = await client.GetAsync("/health/ready", TestContext.Current.CancellationToken);
        using var alive = await client.GetAsync("/alive", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal("Unhealthy", await ready.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
    }

    [Fact]
    public async Task A_body_over_the_limit_is_413_problem_details()
    {
        using var client = _factory.CreateAuthorizedClient();
        using var content = new StringContent(new string('x', 4096), System.Text.Encoding.UTF8, "application/json");

        using var response = await client.PostAsync("/api/agents", content, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task The_openapi_document_describes_the_routes_and_the_key()
    {
        using var client = _factory.CreateAuthorizedClient();

        var document = await client.GetFromJsonAsync<JsonElement>("/openapi/v1.json", TestContext.Current.CancellationToken);

        Assert.True(document.GetProperty("paths").TryGetProperty("/api/agents", out _));
        Assert.True(document.GetProperty("components").GetProperty("securitySchemes").TryGetProperty("ApiKey", out _));
    }
}
