using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using TestSupport;

namespace Orchestration.Api.Tests.Functional;

/// <summary>The registry through the real API and Redis, with a fake clock for heartbeat expiry.</summary>
public sealed class AgentRegistryTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private RedisServer _redis = null!;
    private ServiceFactory<Program> _factory = null!;
    private HttpClient _client = null!;

    public async ValueTask InitializeAsync()
    {
        // Each test gets an empty Redis of its own: the registry is global state.
        _redis = await RedisServer.StartAsync();
        _factory = new ServiceFactory<Program>(_redis.ConnectionString) { ConfigureServices = s => s.AddSingleton<TimeProvider>(_clock) };
        _client = _factory.CreateAuthorizedClient();
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _factory.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<JsonElement> Register(string id, string[] capabilities, int? ttl = null, string? status = null)
    {
        using var response = await _client.PostAsJsonAsync("/api/agents", new { id, name = $"Agent {id}", capabilities, heartbeatTtlSeconds = ttl, status }, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
    }

    private async Task<List<string>> Ids(string query)
    {
        var agents = await _client.GetFromJsonAsync<JsonElement>($"/api/agents{query}", Ct);
        return agents.EnumerateArray().Select(a => a.GetProperty("id").GetString()!).ToList();
    }

    [Fact]
    public async Task Register_then_get_shows_the_agent_active_with_its_default_topic()
    {
        var registered = await Register("coder", ["code", "review"]);

        var agent = await _client.GetFromJsonAsync<JsonElement>("/api/agents/coder", Ct);

        Assert.Equal("active", registered.GetProperty("status").GetString());
        Assert.Equal("agent.coder", agent.GetProperty("topic").GetString());
        Assert.Equal(["code", "review"], agent.GetProperty("capabilities").EnumerateArray().Select(c => c.GetString()));
    }

    [Fact]
    public async Task Registering_again_updates_the_agent_and_keeps_its_registration_time()
    {
        var first = await Register("coder", ["code"]);
        _clock.Advance(TimeSpan.FromSeconds(5));

        var second = await Register("coder", ["code", "tests"]);

        Assert.Equal(first.GetProperty("registeredAt").GetDateTimeOffset(), second.GetProperty("registeredAt").GetDateTimeOffset());
        Assert.Equal(2, second.GetProperty("capabilities").GetArrayLength());
        Assert.Single(await Ids(""));
    }

    [Fact]
    public async Task Unregister_removes_the_agent_and_a_second_time_is_404()
    {
        await Register("coder", ["code"]);

        using var first = await _client.DeleteAsync("/api/agents/coder", Ct);
        using var second = await _client.DeleteAsync("/api/agents/coder", Ct);
        using var get = await _client.GetAsync("/api/agents/coder", Ct);

        Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, second.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    [Fact]
    public async Task List_filters_by_capability_and_by_status()
    {
        await Register("a", ["code"]);
        await Register("b", ["code", "review"]);
        await Register("c", ["review"], status: "busy");

        Assert.Equal(["a", "b", "c"], await Ids(""));
        Assert.Equal(["a", "b"], await Ids("?capability=code"));
        Assert.Equal(["c"], await Ids("?status=busy"));
        Assert.Equal(["b"], await Ids("?capability=review&status=active"));
    }

    [Fact]
    public async Task Available_agents_are_the_active_ones_and_a_heartbeat_can_change_the_status()
    {
        await Register("a", ["code"]);
        await Register("b", ["code"]);

        using var busy = await _client.PostAsJsonAsync("/api/agents/b/heartbeat", new { status = "busy" }, Ct);

        Assert.Equal(HttpStatusCode.OK, busy.StatusCode);
        Assert.Equal(["a"], await Ids("?status=active"));
    }

    [Fact]
    public async Task Without_heartbeats_past_its_ttl_an_agent_shows_inactive_and_a_heartbeat_revives_it()
    {
        await Register("a", ["code"], ttl: 10);
        await Register("b", ["code"], ttl: 60);

        _clock.Advance(TimeSpan.FromSeconds(11));
        Assert.Equal(["a"], await Ids("?status=inactive"));
        Assert.Equal(["b"], await Ids("?status=active"));

        using var heartbeat = await _client.PostAsync("/api/agents/a/heartbeat", null, Ct);
        Assert.Equal(HttpStatusCode.OK, heartbeat.StatusCode);
        Assert.Equal(["a", "b"], await Ids("?status=active"));
    }

    [Fact]
    public async Task A_heartbeat_for_an_unknown_agent_is_404_and_registers_nothing()
    {
        using var response = await _client.PostAsync("/api/agents/ghost/heartbeat", null, Ct);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Empty(await Ids(""));
    }

    [Theory]
    [InlineData("""{"id":"","name":"x","capabilities":[]}""", "id")]
    [InlineData("""{"id":"a b","name":"x","capabilities":[]}""", "id")]
    [InlineData("""{"id":"a","name":"","capabilities":[]}""", "name")]
    [InlineData("""{"id":"a","name":"x","capabilities":["ok","not ok"]}""", "capabilities[1]")]
    [InlineData("""{"id":"a","name":"x","capabilities":[],"status":"sleeping"}""", "status")]
    [InlineData("""{"id":"a","name":"x","capabilities":[],"heartbeatTtlSeconds":1}""", "heartbeatTtlSeconds")]
    [InlineData("""{"id":"a","name":"x","capabilities":[],"colour":"red"}""", "colour")]
    [InlineData("""{"id":"a","name":"x","capabilities":"code"}""", "capabilities")]
    public async Task A_bad_registration_is_400_with_the_field_and_stores_nothing(string body, string field)
    {
        using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");

        using var response = await _client.PostAsync("/api/agents", content, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
        Assert.Empty(await Ids(""));
    }

    [Fact]
    public async Task An_unknown_status_filter_is_400() =>
        Assert.Equal(HttpStatusCode.BadRequest, (await _client.GetAsync("/api/agents?status=sleeping", Ct)).StatusCode);
}
