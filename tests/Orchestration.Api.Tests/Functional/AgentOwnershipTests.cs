using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using StackExchange.Redis;

namespace Orchestration.Api.Tests.Functional;

/// <summary>Issue 9: an agent id belongs to the caller that registered it; reserved topics cannot be taken.</summary>
public sealed class AgentOwnershipTests(RedisFixture redis) : IAsyncLifetime
{
    private const string AliceKey = "alice-agent-key-0123456789";
    private const string MalloryKey = "mallory-agent-key-0123456789";
    private OrchestrationApiFactory _factory = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync()
    {
        _factory = new OrchestrationApiFactory(redis, new Dictionary<string, string?>
        {
            ["Auth:ApiKeys:alice"] = AliceKey,
            ["Auth:Roles:alice"] = "agent",
            ["Auth:ApiKeys:mallory"] = MalloryKey,
            ["Auth:Roles:mallory"] = "agent",
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

    private static object Registration(string id, string? topic = null) => new { id, name = "Owned", capabilities = new[] { "x" }, topic };

    [Fact]
    public async Task Another_caller_cannot_re_register_or_heartbeat_an_agent_but_its_owner_and_an_admin_can()
    {
        var id = $"owned-{Guid.NewGuid():N}";
        using var alice = Client(AliceKey);
        using var mallory = Client(MalloryKey);
        using var admin = _factory.CreateAuthorizedClient();

        using var registered = await alice.PostAsJsonAsync("/api/agents", Registration(id), Ct);
        using var takeover = await mallory.PostAsJsonAsync("/api/agents", Registration(id, "mallory.inbox"), Ct);
        using var foreignBeat = await mallory.PostAsync($"/api/agents/{id}/heartbeat", null, Ct);
        using var ownBeat = await alice.PostAsync($"/api/agents/{id}/heartbeat", null, Ct);
        using var again = await alice.PostAsJsonAsync("/api/agents", Registration(id), Ct);
        using var deleted = await admin.DeleteAsync($"/api/agents/{id}", Ct);

        Assert.Equal(HttpStatusCode.OK, registered.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, takeover.StatusCode);
        Assert.Equal("application/problem+json", takeover.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.Forbidden, foreignBeat.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ownBeat.StatusCode);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
    }

    [Fact]
    public async Task The_topic_of_an_agent_is_unchanged_after_a_refused_takeover()
    {
        var id = $"owned-{Guid.NewGuid():N}";
        using var alice = Client(AliceKey);
        using var mallory = Client(MalloryKey);
        using var admin = _factory.CreateAuthorizedClient();
        (await alice.PostAsJsonAsync("/api/agents", Registration(id), Ct)).Dispose();

        (await mallory.PostAsJsonAsync("/api/agents", Registration(id, "mallory.inbox"), Ct)).Dispose();

        var agent = await admin.GetFromJsonAsync<JsonElement>($"/api/agents/{id}", Ct);
        Assert.Equal($"agent.{id}", agent.GetProperty("topic").GetString());
    }

    [Fact]
    public async Task A_record_from_before_owners_is_claimed_by_the_first_caller_to_register_it()
    {
        var id = $"legacy-{Guid.NewGuid():N}";
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var db = connection.GetDatabase();
        await db.HashSetAsync("orch:{agents}", id,
            $$"""{"id":"{{id}}","name":"Old","capabilities":["x"],"topic":"agent.{{id}}","metadata":{},"heartbeatTtlSeconds":30,"registeredAt":"2026-01-01T00:00:00+00:00"}""");
        using var alice = Client(AliceKey);
        using var mallory = Client(MalloryKey);

        using var claimed = await alice.PostAsJsonAsync("/api/agents", Registration(id), Ct);
        using var refused = await mallory.PostAsJsonAsync("/api/agents", Registration(id), Ct);

        Assert.Equal(HttpStatusCode.OK, claimed.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }

    [Theory]
    [InlineData("orchestration.results")]
    [InlineData("ORCHESTRATION.RESULTS")]
    [InlineData("reply.orchestration-api.host-1-1")]
    [InlineData("orchestration.anything")]
    public async Task A_reserved_topic_is_400_naming_the_field(string topic)
    {
        using var alice = Client(AliceKey);

        using var response = await alice.PostAsJsonAsync("/api/agents", Registration($"reserved-{Guid.NewGuid():N}", topic), Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.True(problem.GetProperty("errors").TryGetProperty("topic", out _));
    }
}
