using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TestSupport;

namespace Ai.Gateway.Tests.Functional;

public sealed class RoleFixture : IAsyncLifetime
{
    public const string AgentKey = "agent-only-key-0123456789";
    public const string ClientKey = "client-only-key-0123456789";

    public RedisServer Redis { get; private set; } = null!;

    public ServiceFactory<Program> Factory { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Redis = await RedisServer.StartAsync();
        Factory = new ServiceFactory<Program>(Redis.ConnectionString, new Dictionary<string, string?>
        {
            ["Auth:ApiKeys:app"] = ClientKey,
            ["Auth:ApiKeys:robot"] = AgentKey,
            ["Auth:Roles:robot"] = "agent",
        });
    }

    public async ValueTask DisposeAsync()
    {
        await Factory.DisposeAsync();
        await Redis.DisposeAsync();
    }
}

/// <summary>Issue 9: every gateway route needs the client role; an agent-only key (the gateway's own service key) gets 403.</summary>
public sealed class RoleTests(RoleFixture fixture) : IClassFixture<RoleFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string, string> Routes => new()
    {
        { "GET", "/v1/models" }, { "GET", "/v1/models/offline" }, { "GET", "/v1/gateway/models" }, { "GET", "/v1/usage" },
        { "GET", "/v1/tools" }, { "POST", "/v1/tools/echo/invoke" }, { "GET", "/v1/prompts" }, { "POST", "/v1/prompts/json/render" },
        { "POST", "/v1/generate" }, { "POST", "/v1/generate/batch" }, { "POST", "/v1/chat/completions" }, { "GET", "/openapi/v1.json" },
    };

    private HttpClient Client(string key)
    {
        var client = fixture.Factory.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", key);
        return client;
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task An_agent_key_is_403_problem_details(string method, string path)
    {
        using var client = Client(RoleFixture.AgentKey);

        using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = JsonContent.Create(new { }) }, Ct);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal(403, problem.GetProperty("status").GetInt32());
        Assert.Contains("client", problem.GetProperty("requiredRoles").EnumerateArray().Select(r => r.GetString()));
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task A_key_without_roles_is_a_client(string method, string path)
    {
        using var client = Client(RoleFixture.ClientKey);

        using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = JsonContent.Create(new { }) }, Ct);

        Assert.NotEqual(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.NotEqual(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.True((int)response.StatusCode < 500, $"{method} {path}: {(int)response.StatusCode}");
    }
}
