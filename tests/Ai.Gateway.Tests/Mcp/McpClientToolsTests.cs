using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Ai.Gateway.Mcp;
using Ai.Gateway.Tools;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using TestSupport;

namespace Ai.Gateway.Tests.Mcp;

/// <summary>
/// A real MCP server on loopback, and the gateway configured to mount it twice: as <c>remote</c> (a few tools, a key
/// and a header) and as <c>slow</c> (one tool that never answers, a short timeout).
/// </summary>
public sealed class McpMountFixture(RedisFixture redis) : IAsyncLifetime
{
    public TestMcpServer Remote { get; private set; } = null!;

    public ServiceFactory<Program> Factory { get; private set; } = null!;

    public Uri GatewayMcp { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Remote = await TestMcpServer.StartAsync();
        Factory = new ServiceFactory<Program>(redis.ConnectionString, new Dictionary<string, string?>
        {
            ["HostedAgents:Enabled"] = "false",
            ["Gateway:Mcp:Servers:remote:Url"] = Remote.Endpoint.ToString(),
            ["Gateway:Mcp:Servers:remote:ApiKey"] = TestMcpServer.ApiKey,
            ["Gateway:Mcp:Servers:remote:Headers:X-Tenant"] = "tenant-7",
            ["Gateway:Mcp:Servers:remote:AllowedTools:0"] = "add",
            ["Gateway:Mcp:Servers:remote:AllowedTools:1"] = "greet",
            ["Gateway:Mcp:Servers:remote:AllowedTools:2"] = "Get-Weather",
            ["Gateway:Mcp:Servers:remote:AllowedTools:3"] = "fail",
            ["Gateway:Mcp:Servers:remote:AllowedTools:4"] = "liar",
            ["Gateway:Mcp:Servers:slow:Url"] = Remote.Endpoint.ToString(),
            ["Gateway:Mcp:Servers:slow:ApiKey"] = TestMcpServer.ApiKey,
            ["Gateway:Mcp:Servers:slow:AllowedTools:0"] = "slow",
            ["Gateway:Mcp:Servers:slow:TimeoutSeconds"] = "0.5",
        });
        using var client = Factory.CreateClient();
        GatewayMcp = new Uri(client.BaseAddress!, "/mcp");
        var runtime = Factory.Services.GetRequiredService<ToolRuntime>();
        await Eventually.TrueAsync(() => runtime.TryGetTool("remote__add", out _) && runtime.TryGetTool("slow__slow", out _),
            because: "the mounter lists both servers' tools at start");
    }

    public async ValueTask DisposeAsync()
    {
        await Factory.DisposeAsync();
        await Remote.DisposeAsync();
    }
}

/// <summary>Issue 13: tools of external MCP servers mounted in the gateway, over real HTTP both ways.</summary>
public sealed class McpClientToolsTests(McpMountFixture fixture) : IClassFixture<McpMountFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Remote_tools_are_listed_in_v1_tools_as_server__tool_with_the_remote_schemas()
    {
        using var http = fixture.Factory.CreateAuthorizedClient();

        var tools = await ToolsAsync(http);

        Assert.Superset(new HashSet<string> { "remote__add", "remote__greet", "remote__get_weather", "remote__fail", "remote__liar", "slow__slow", "echo" },
            tools.Keys.ToHashSet());
        var add = tools["remote__add"];
        Assert.Equal("Adds two numbers.", add.GetProperty("description").GetString());
        Assert.Equal(["a", "b"], add.GetProperty("inputSchema").GetProperty("required").EnumerateArray().Select(e => e.GetString()!));
        Assert.Equal("number", add.GetProperty("outputSchema").GetProperty("properties").GetProperty("sum").GetProperty("type").GetString());
        // No output schema from the server: any value.
        Assert.Equal("{}", tools["remote__greet"].GetProperty("outputSchema").GetRawText());
    }

    [Fact]
    public async Task A_tool_not_in_AllowedTools_is_not_mounted_and_cannot_be_called_any_way()
    {
        using var http = fixture.Factory.CreateAuthorizedClient();

        var tools = await ToolsAsync(http);
        using var invoke = await http.PostAsJsonAsync("/v1/tools/remote__secret/invoke", new { arguments = new { } }, Ct);
        using var generate = await http.PostAsJsonAsync("/v1/generate", new { input = "Use tool remote__secret {}", tools = new[] { "remote__secret" } }, Ct);
        await using var client = await McpClients.ConnectAsync(fixture.GatewayMcp, ServiceFactory<Program>.ApiKey, Ct);
        var error = await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync("remote__secret", cancellationToken: Ct).AsTask());

        Assert.DoesNotContain(tools.Keys, name => name.Contains("secret", StringComparison.Ordinal));
        Assert.DoesNotContain("slow__add", tools.Keys); // the same server mounted as 'slow' allows only 'slow'
        Assert.Equal(HttpStatusCode.NotFound, invoke.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, generate.StatusCode);
        Assert.Equal(McpErrorCode.InvalidParams, error.ErrorCode);
        Assert.DoesNotContain(fixture.Remote.Calls, c => c.Tool == "secret");
    }

    [Fact]
    public async Task The_gateways_own_mcp_server_lists_the_mounted_tools()
    {
        await using var client = await McpClients.ConnectAsync(fixture.GatewayMcp, ServiceFactory<Program>.ApiKey, Ct);

        var tools = (await client.ListToolsAsync(cancellationToken: Ct)).ToDictionary(t => t.Name);

        Assert.Contains("remote__add", tools.Keys);
        Assert.Contains("remote__get_weather", tools.Keys);
        Assert.DoesNotContain("remote__secret", tools.Keys);
        Assert.Equal("object", tools["remote__add"].ProtocolTool.InputSchema.GetProperty("type").GetString());
        Assert.NotNull(tools["remote__add"].ProtocolTool.OutputSchema);
    }

    [Fact]
    public async Task A_call_through_the_gateways_mcp_reaches_the_remote_tool_with_the_configured_key_and_header()
    {
        await using var client = await McpClients.ConnectAsync(fixture.GatewayMcp, ServiceFactory<Program>.ApiKey, Ct);

        var result = await client.CallToolAsync("remote__add", new Dictionary<string, object?> { ["a"] = 1234.5, ["b"] = 1 }, cancellationToken: Ct);

        Assert.NotEqual(true, result.IsError);
        Assert.Equal(1235.5, result.StructuredContent!.Value.GetProperty("sum").GetDouble());
        Assert.True(fixture.Remote.WasCalledWith("add", "1234.5"));
        // The server refuses requests without the bearer key, so a result proves the key; the header arrived too.
        Assert.Contains("tenant-7", fixture.Remote.Tenants);
    }

    [Fact]
    public async Task A_text_result_is_passed_on_as_a_string_under_the_sanitized_name()
    {
        using var http = fixture.Factory.CreateAuthorizedClient();

        using var response = await http.PostAsJsonAsync("/v1/tools/remote__get_weather/invoke", new { arguments = new { city = "Oslo" } }, Ct);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Sunny in Oslo", body.GetProperty("result").GetString());
        Assert.True(fixture.Remote.WasCalledWith("Get-Weather", "Oslo"));
    }

    [Fact]
    public async Task A_model_tool_call_in_v1_generate_reaches_the_remote_tool()
    {
        using var http = fixture.Factory.CreateAuthorizedClient();

        // No provider key: the offline model calls the tool the input names, with these arguments.
        using var response = await http.PostAsJsonAsync("/v1/generate", new
        {
            input = """Use tool remote__add {"a": 4000, "b": 2}""",
            tools = new[] { "remote__add" },
        }, Ct);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var call = Assert.Single(body.GetProperty("toolCalls").EnumerateArray());
        Assert.Equal("remote__add", call.GetProperty("name").GetString());
        Assert.True(call.GetProperty("ok").GetBoolean());
        Assert.Contains("4002", body.GetProperty("output").GetString(), StringComparison.Ordinal);
        Assert.True(fixture.Remote.WasCalledWith("add", "4000"));
    }

    [Fact]
    public async Task Arguments_that_break_the_remote_input_schema_are_refused_before_the_remote_is_called()
    {
        var marker = $"not-a-number-{Guid.NewGuid():N}";
        await using var client = await McpClients.ConnectAsync(fixture.GatewayMcp, ServiceFactory<Program>.ApiKey, Ct);
        using var http = fixture.Factory.CreateAuthorizedClient();

        var result = await client.CallToolAsync("remote__add", new Dictionary<string, object?> { ["a"] = marker, ["b"] = 1 }, cancellationToken: Ct);
        using var invoke = await http.PostAsJsonAsync("/v1/tools/remote__add/invoke", new { arguments = new { a = marker, b = 1, c = 2 } }, Ct);

        Assert.True(result.IsError);
        var error = ErrorOf(result);
        Assert.Equal("invalid_arguments", error.GetProperty("type").GetString());
        Assert.Contains(error.GetProperty("errors").EnumerateArray(), e => e.GetProperty("path").GetString() == "/a");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, invoke.StatusCode);
        Assert.DoesNotContain(fixture.Remote.Calls, c => c.Arguments.Contains(marker, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_remote_isError_result_is_a_tool_error_with_the_remote_message()
    {
        await using var client = await McpClients.ConnectAsync(fixture.GatewayMcp, ServiceFactory<Program>.ApiKey, Ct);
        using var http = fixture.Factory.CreateAuthorizedClient();

        var result = await client.CallToolAsync("remote__fail", cancellationToken: Ct);
        using var invoke = await http.PostAsJsonAsync("/v1/tools/remote__fail/invoke", new { arguments = new { } }, Ct);
        var problem = await invoke.Content.ReadFromJsonAsync<JsonElement>(Ct);

        Assert.True(result.IsError);
        Assert.Equal("tool_failed", ErrorOf(result).GetProperty("type").GetString());
        Assert.Contains("disk full", ErrorOf(result).GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadGateway, invoke.StatusCode);
        Assert.Equal("application/problem+json", invoke.Content.Headers.ContentType?.MediaType);
        Assert.Contains("disk full", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_remote_result_that_breaks_its_output_schema_is_a_tool_error()
    {
        using var http = fixture.Factory.CreateAuthorizedClient();

        using var invoke = await http.PostAsJsonAsync("/v1/tools/remote__liar/invoke", new { arguments = new { } }, Ct);
        var problem = await invoke.Content.ReadFromJsonAsync<JsonElement>(Ct);

        Assert.Equal(HttpStatusCode.BadGateway, invoke.StatusCode);
        Assert.Equal("/sum", problem.GetProperty("errors")[0].GetProperty("path").GetString());
    }

    [Fact]
    public async Task A_remote_that_does_not_answer_within_the_server_timeout_is_a_tool_error()
    {
        await using var client = await McpClients.ConnectAsync(fixture.GatewayMcp, ServiceFactory<Program>.ApiKey, Ct);

        var result = await client.CallToolAsync("slow__slow", cancellationToken: Ct);

        Assert.True(result.IsError);
        Assert.Contains("did not answer within 0.5 s", ErrorOf(result).GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_health_check_reports_the_servers_healthy_when_they_answer()
    {
        var health = fixture.Factory.Services.GetRequiredService<HealthCheckService>();

        var report = await health.CheckHealthAsync(r => r.Name == McpServersHealthCheck.Name, Ct);

        Assert.Equal(HealthStatus.Healthy, report.Status);
    }

    internal static async Task<Dictionary<string, JsonElement>> ToolsAsync(HttpClient http)
    {
        var body = await http.GetFromJsonAsync<JsonElement>("/v1/tools", Ct);
        return body.GetProperty("tools").EnumerateArray().ToDictionary(t => t.GetProperty("name").GetString()!, t => t.Clone());
    }

    internal static JsonElement ErrorOf(CallToolResult result) =>
        JsonDocument.Parse(Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text).RootElement.GetProperty("error").Clone();
}

/// <summary>A server that is down at start, comes up, goes away and comes back: the gateway keeps serving throughout.</summary>
public sealed class McpServerDownAtStartTests(RedisFixture redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_gateway_starts_without_the_tools_mounts_them_once_the_server_answers_and_reconnects_after_an_outage()
    {
        await using var remote = TestMcpServer.NotStarted();
        await using var factory = new ServiceFactory<Program>(redis.ConnectionString, new Dictionary<string, string?>
        {
            ["HostedAgents:Enabled"] = "false",
            ["Gateway:Mcp:Servers:late:Url"] = remote.Endpoint.ToString(),
            ["Gateway:Mcp:Servers:late:ApiKey"] = TestMcpServer.ApiKey,
            ["Gateway:Mcp:Servers:late:AllowedTools:0"] = "*",
            ["Gateway:Mcp:Servers:late:RefreshSeconds"] = "1",
        });
        using var http = factory.CreateAuthorizedClient();
        var health = factory.Services.GetRequiredService<HealthCheckService>();

        // Down at start: the gateway answers, without the server's tools, and reports Degraded (not Unhealthy).
        var down = await Eventually.ValueAsync(() => health.CheckHealthAsync(r => r.Name == McpServersHealthCheck.Name, Ct),
            r => r.Entries[McpServersHealthCheck.Name].Data["late"] is string problem && problem.Contains("tools/list failed", StringComparison.Ordinal));
        Assert.Equal(HealthStatus.Degraded, down.Status);
        Assert.DoesNotContain(await McpClientToolsTests.ToolsAsync(http), t => t.Key.StartsWith("late__", StringComparison.Ordinal));

        // Up: a refresh mounts every tool ('*'), and calls reach it.
        await remote.StartAgainAsync();
        await Eventually.TrueAsync(async () => (await McpClientToolsTests.ToolsAsync(http)).ContainsKey("late__add"), because: "a refresh runs every second");
        Assert.Contains("late__secret", (await McpClientToolsTests.ToolsAsync(http)).Keys);
        Assert.Equal(HttpStatusCode.OK, await AddAsync(http));
        await Eventually.TrueAsync(async () => (await health.CheckHealthAsync(r => r.Name == McpServersHealthCheck.Name, Ct)).Status == HealthStatus.Healthy);

        // Gone: the tools stay listed, a call is a tool error (502 here, isError over MCP), never a 500.
        await remote.StopAsync();
        Assert.Equal(HttpStatusCode.BadGateway, await AddAsync(http));
        await using (var client = await McpClients.ConnectAsync(new Uri(http.BaseAddress!, "/mcp"), ServiceFactory<Program>.ApiKey, Ct))
        {
            var result = await client.CallToolAsync("late__add", new Dictionary<string, object?> { ["a"] = 1, ["b"] = 2 }, cancellationToken: Ct);
            Assert.True(result.IsError);
            Assert.Contains("could not be reached", McpClientToolsTests.ErrorOf(result).GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        // Back (a new process, so the old session is gone): the gateway opens a new session.
        await remote.StartAgainAsync();
        await Eventually.TrueAsync(async () => await AddAsync(http) == HttpStatusCode.OK, because: "the next call or refresh reconnects");
    }

    private static async Task<HttpStatusCode> AddAsync(HttpClient http)
    {
        using var response = await http.PostAsJsonAsync("/v1/tools/late__add/invoke", new { arguments = new { a = 1, b = 2 } }, Ct);
        return response.StatusCode;
    }
}
