using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ai.Gateway.Tools;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using TestSupport;

namespace Ai.Gateway.Tests.Tools;

/// <summary>The real gateway, plus two tools that fail on purpose.</summary>
public sealed class GatewayWithFailingTools(string redisConnectionString)
    : ServiceFactory<Program>(redisConnectionString, new Dictionary<string, string?> { ["Tools:HttpGet:AllowedHosts:0"] = "example.com" })
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureServices(services =>
        {
            services.AddSingleton<ITool>(FakeTool.Throwing());
            services.AddSingleton<ITool>(FakeTool.BadOutput());
        });
    }
}

public sealed class ToolsApiFixture(RedisFixture redis) : IAsyncLifetime
{
    public GatewayWithFailingTools Factory { get; private set; } = null!;

    public ValueTask InitializeAsync()
    {
        Factory = new GatewayWithFailingTools(redis.ConnectionString);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => Factory.DisposeAsync();
}

public sealed class ToolsApiTests(ToolsApiFixture fixture) : IClassFixture<ToolsApiFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Listing_tools_without_a_key_is_401_problem_details()
    {
        using var client = fixture.Factory.CreateClient();

        using var response = await client.GetAsync("/v1/tools", Cancel);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Invoking_without_a_key_is_401()
    {
        using var client = fixture.Factory.CreateClient();

        using var response = await client.PostAsJsonAsync("/v1/tools/echo/invoke", new { arguments = new { message = "hi" } }, Cancel);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Listing_tools_shows_the_built_ins_with_input_and_output_schemas()
    {
        using var client = fixture.Factory.CreateAuthorizedClient();

        var list = await client.GetFromJsonAsync<JsonElement>("/v1/tools", Cancel);

        var tools = list.GetProperty("tools").EnumerateArray().ToDictionary(t => t.GetProperty("name").GetString()!);
        Assert.Superset(new HashSet<string> { "echo", "calculate", "http_get", "time_now" }, tools.Keys.ToHashSet());
        var calculate = tools["calculate"];
        Assert.False(string.IsNullOrEmpty(calculate.GetProperty("description").GetString()));
        Assert.Equal("expression", calculate.GetProperty("inputSchema").GetProperty("required")[0].GetString());
        Assert.Equal("number", calculate.GetProperty("outputSchema").GetProperty("properties").GetProperty("value").GetProperty("type").GetString());
    }

    [Fact]
    public async Task Invoking_a_tool_returns_its_result_and_latency()
    {
        using var client = fixture.Factory.CreateAuthorizedClient();

        using var response = await client.PostAsJsonAsync("/v1/tools/calculate/invoke", new { arguments = new { expression = "2 * (3 + 4)" } }, Cancel);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Cancel);
        Assert.Equal("calculate", body.GetProperty("tool").GetString());
        Assert.Equal(14, body.GetProperty("result").GetProperty("value").GetDouble());
        Assert.True(body.GetProperty("latencyMs").GetDouble() >= 0);
    }

    [Fact]
    public async Task Echo_returns_its_input()
    {
        using var client = fixture.Factory.CreateAuthorizedClient();

        using var response = await client.PostAsJsonAsync("/v1/tools/echo/invoke", new { arguments = new { message = "مرحبا" } }, Cancel);

        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Cancel);
        Assert.Equal("""{"message":"مرحبا"}""", JsonSerializer.Serialize(body.GetProperty("result"), new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
    }

    [Fact]
    public async Task A_tool_without_required_arguments_may_be_called_without_arguments()
    {
        using var client = fixture.Factory.CreateAuthorizedClient();

        using var response = await client.PostAsJsonAsync("/v1/tools/time_now/invoke", new { }, Cancel);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Cancel);
        Assert.Equal("UTC", body.GetProperty("result").GetProperty("timeZone").GetString());
    }

    [Fact]
    public async Task An_unknown_tool_is_404_problem_details()
    {
        using var client = fixture.Factory.CreateAuthorizedClient();

        using var response = await client.PostAsJsonAsync("/v1/tools/format_disk/invoke", new { arguments = new { } }, Cancel);

        var problem = await AssertProblemAsync(response, HttpStatusCode.NotFound);
        Assert.Contains("format_disk", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("echo", """{ "arguments": { "text": "hi" } }""", "/message")]
    [InlineData("echo", """{ "arguments": { "message": 5 } }""", "/message")]
    [InlineData("calculate", """{ "arguments": { "expression": "1 / 0" } }""", "/expression")]
    [InlineData("http_get", """{ "arguments": { "url": "http://169.254.169.254/latest/meta-data" } }""", "/url")]
    public async Task Invalid_arguments_are_422_problem_details_with_json_pointer_paths(string tool, string body, string path)
    {
        using var client = fixture.Factory.CreateAuthorizedClient();

        using var response = await PostJsonAsync(client, $"/v1/tools/{tool}/invoke", body);

        var problem = await AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        var paths = problem.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("path").GetString()).ToList();
        Assert.Contains(path, paths);
        Assert.All(problem.GetProperty("errors").EnumerateArray(), e => Assert.False(string.IsNullOrEmpty(e.GetProperty("message").GetString())));
    }

    [Fact]
    public async Task A_throwing_tool_is_502_problem_details_without_internals()
    {
        using var client = fixture.Factory.CreateAuthorizedClient();

        using var response = await PostJsonAsync(client, "/v1/tools/throwing/invoke", """{ "arguments": {} }""");

        await AssertProblemAsync(response, HttpStatusCode.BadGateway);
        var text = await response.Content.ReadAsStringAsync(Cancel);
        Assert.DoesNotContain("hunter2", text, StringComparison.Ordinal);
        Assert.DoesNotContain("InvalidOperationException", text, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_result_that_breaks_the_output_schema_is_502_problem_details()
    {
        using var client = fixture.Factory.CreateAuthorizedClient();

        using var response = await PostJsonAsync(client, "/v1/tools/bad_output/invoke", """{ "arguments": {} }""");

        var problem = await AssertProblemAsync(response, HttpStatusCode.BadGateway);
        Assert.Equal("/value", problem.GetProperty("errors")[0].GetProperty("path").GetString());
    }

    [Theory]
    [InlineData("[1, 2]")]
    [InlineData("\"text\"")]
    [InlineData("{ not json")]
    [InlineData("""{ "arguments": 5 }""")]
    [InlineData("""{ "arguments": ["a"] }""")]
    public async Task A_body_that_is_not_a_json_object_is_400_problem_details(string body)
    {
        using var client = fixture.Factory.CreateAuthorizedClient();

        using var response = await PostJsonAsync(client, "/v1/tools/echo/invoke", body);

        await AssertProblemAsync(response, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task A_body_that_is_not_json_at_all_is_415_problem_details()
    {
        using var client = fixture.Factory.CreateAuthorizedClient();

        using var response = await client.PostAsync("/v1/tools/echo/invoke", new StringContent("message=hi", Encoding.UTF8, "text/plain"), Cancel);

        await AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task The_openapi_document_describes_the_tool_and_prompt_routes()
    {
        using var client = fixture.Factory.CreateAuthorizedClient();

        var document = await client.GetFromJsonAsync<JsonElement>("/openapi/v1.json", Cancel);

        var operations = document.GetProperty("paths").EnumerateObject()
            .SelectMany(p => p.Value.EnumerateObject())
            .Where(o => o.Value.ValueKind == JsonValueKind.Object && o.Value.TryGetProperty("operationId", out _))
            .Select(o => o.Value.GetProperty("operationId").GetString())
            .ToList();
        Assert.Superset(new HashSet<string?> { "ListTools", "InvokeTool", "ListPrompts", "RenderPrompt", "GetPromptPreset" }, operations.ToHashSet());
    }

    internal static Task<HttpResponseMessage> PostJsonAsync(HttpClient client, string path, string json) =>
        client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"), Cancel);

    internal static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Cancel);
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
        return problem;
    }
}
