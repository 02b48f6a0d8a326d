using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TestSupport;

namespace Ai.Gateway.Tests.Functional;

public sealed class GatewayBasicsFixture : IAsyncLifetime
{
    public RedisServer Redis { get; private set; } = null!;

    public ServiceFactory<Program> Factory { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Redis = await RedisServer.StartAsync();
        Factory = new ServiceFactory<Program>(Redis.ConnectionString, new Dictionary<string, string?> { ["Api:MaxRequestBodyBytes"] = "1024" });
    }

    public async ValueTask DisposeAsync()
    {
        await Factory.DisposeAsync();
        await Redis.DisposeAsync();
    }
}

/// <summary>The walking-skeleton guarantees of the gateway: API keys, health, limits, the catalog.</summary>
public sealed class GatewayBasicsTests(GatewayBasicsFixture fixture) : IClassFixture<GatewayBasicsFixture>
{
    [Fact]
    public async Task Models_without_a_key_is_401_problem_details()
    {
        using var client = fixture.Factory.CreateClient();

        using var response = await client.GetAsync("/v1/models", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task The_gateway_view_of_the_models_lists_the_configured_catalog()
    {
        using var client = fixture.Factory.CreateAuthorizedClient();

        var catalog = await client.GetFromJsonAsync<JsonElement>("/v1/gateway/models", TestContext.Current.CancellationToken);

        var ids = catalog.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("id").GetString()).ToList();
        Assert.Contains("gemini-3.5-flash", ids);
        Assert.Contains(catalog.GetProperty("defaultModel").GetString(), ids);
        var models = catalog.GetProperty("models").EnumerateArray().ToDictionary(m => m.GetProperty("id").GetString()!);
        Assert.Equal("Chat", models["gemini-3.5-flash"].GetProperty("kind").GetString());
        Assert.Equal("Embedding", models["gemini-embedding-001"].GetProperty("kind").GetString());
        Assert.Equal(3072, models["gemini-embedding-001"].GetProperty("dimensions").GetInt32());
    }

    [Fact]
    public async Task Models_is_openai_s_list_shape()
    {
        using var client = fixture.Factory.CreateAuthorizedClient();

        var list = await client.GetFromJsonAsync<JsonElement>("/v1/models", TestContext.Current.CancellationToken);

        Assert.Equal("list", list.GetProperty("object").GetString());
        var model = list.GetProperty("data").EnumerateArray().Single(m => m.GetProperty("id").GetString() == "gemini-3.5-flash");
        Assert.Equal("model", model.GetProperty("object").GetString());
        Assert.Equal("gemini", model.GetProperty("owned_by").GetString());
        Assert.Equal(JsonValueKind.Number, model.GetProperty("created").ValueKind);
    }

    [Theory]
    [InlineData("/alive")]
    [InlineData("/health")]
    [InlineData("/health/ready")]
    public async Task Health_endpoints_are_open_and_healthy(string path)
    {
        using var client = fixture.Factory.CreateClient();

        using var response = await client.GetAsync(path, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_body_over_the_limit_is_413()
    {
        using var client = fixture.Factory.CreateAuthorizedClient();
        using var content = new StringContent(new string('x', 4096), System.Text.Encoding.UTF8, "application/json");

        using var response = await client.PostAsync("/v1/models", content, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task An_invalid_catalog_stops_the_service_at_start_up()
    {
        await using var factory = new ServiceFactory<Program>(fixture.Redis.ConnectionString, new Dictionary<string, string?>
        {
            ["Gateway:DefaultModel"] = "no-such-model",
        });

        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        Assert.Contains("no-such-model", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_api_keys_stop_the_service_at_start_up()
    {
        await using var factory = new ServiceFactory<Program>(fixture.Redis.ConnectionString, new Dictionary<string, string?>
        {
            ["Auth:ApiKeys:client"] = "",
        });

        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        Assert.Contains("Auth:ApiKeys", error.ToString(), StringComparison.Ordinal);
    }
}
