using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Orchestration.Api.Tests.Functional;

/// <summary>Issue 9: API keys carry roles; each route group requires one, and a missing role is 403 problem details.</summary>
public sealed class RoleTests(RedisFixture redis) : IAsyncLifetime
{
    private const string ClientKey = "client-only-key-0123456789";
    private const string AgentKey = "agent-only-key-0123456789";
    private OrchestrationApiFactory _factory = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync()
    {
        _factory = new OrchestrationApiFactory(redis, new Dictionary<string, string?>
        {
            ["Auth:ApiKeys:app"] = ClientKey, // no roles configured: client
            ["Auth:ApiKeys:robot"] = AgentKey,
            ["Auth:Roles:robot"] = "agent",
        });
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => _factory.DisposeAsync();

    private HttpClient Client(string key)
    {
        var client = _factory.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", key);
        return client;
    }

    private static HttpRequestMessage Request(string method, string path, object? body = null) =>
        new(new HttpMethod(method), path) { Content = body is null ? null : JsonContent.Create(body) };

    private static readonly object Registration = new { id = "role-test-agent", name = "Role test", capabilities = new[] { "x" } };

    public static TheoryData<string, string> ClientRoutes => new()
    {
        { "GET", "/api/agents" }, { "GET", "/api/agents/nobody" }, { "GET", "/api/workflows" }, { "GET", "/api/workflows/software-team" },
        { "GET", "/api/workflows/software-team/versions" }, { "POST", "/api/workflows/nothing/runs" }, { "GET", "/api/runs" },
        { "GET", "/api/runs/none" }, { "POST", "/api/runs/none/cancel" }, { "PUT", "/api/workflows/x" }, { "GET", "/openapi/v1.json" },
    };

    public static TheoryData<string, string> AdminRoutes => new()
    {
        { "GET", "/api/dead-letters" }, { "GET", "/api/dead-letters/some-topic" }, { "POST", "/api/dead-letters/some-topic/1-0/replay" },
        { "DELETE", "/api/agents/role-test-agent" },
    };

    public static TheoryData<string, string> AgentRoutes => new() { { "POST", "/api/agents" }, { "POST", "/api/agents/role-test-agent/heartbeat" } };

    [Theory]
    [MemberData(nameof(ClientRoutes))]
    [MemberData(nameof(AdminRoutes))]
    public async Task An_agent_key_is_403_problem_details_naming_the_role_outside_its_own_routes(string method, string path)
    {
        using var client = Client(AgentKey);

        using var response = await client.SendAsync(Request(method, path, new { }), Ct);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal(403, problem.GetProperty("status").GetInt32());
        Assert.Contains("'robot'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.NotEmpty(problem.GetProperty("requiredRoles").EnumerateArray());
    }

    [Theory]
    [MemberData(nameof(AdminRoutes))]
    [MemberData(nameof(AgentRoutes))]
    public async Task A_client_key_is_403_on_agent_and_admin_routes(string method, string path)
    {
        using var client = Client(ClientKey);

        using var response = await client.SendAsync(Request(method, path, Registration), Ct);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Contains("Auth:Roles:app", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(ClientRoutes))]
    public async Task A_client_key_passes_authorization_on_client_routes(string method, string path)
    {
        using var client = Client(ClientKey);

        using var response = await client.SendAsync(Request(method, path, new { }), Ct);

        Assert.NotEqual(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.NotEqual(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.True((int)response.StatusCode < 500, $"{method} {path}: {(int)response.StatusCode}");
    }

    [Fact]
    public async Task An_agent_key_registers_and_heartbeats_and_an_admin_key_deletes()
    {
        using var agent = Client(AgentKey);
        using var admin = _factory.CreateAuthorizedClient(); // client,admin as in the AppHost

        using var registered = await agent.PostAsJsonAsync("/api/agents", Registration, Ct);
        using var heartbeat = await agent.PostAsync("/api/agents/role-test-agent/heartbeat", null, Ct);
        using var deadLetters = await admin.GetAsync("/api/dead-letters", Ct);
        using var deleted = await admin.DeleteAsync("/api/agents/role-test-agent", Ct);

        Assert.Equal(HttpStatusCode.OK, registered.StatusCode);
        Assert.Equal(HttpStatusCode.OK, heartbeat.StatusCode);
        Assert.Equal(HttpStatusCode.OK, deadLetters.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
    }
}
