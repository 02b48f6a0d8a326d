using System.Net;
using System.Text;
using System.Text.Json;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using TestSupport;

namespace Ai.Gateway.Tests.Mcp;

public sealed class McpGatewayFixture(RedisFixture redis) : IAsyncLifetime
{
    public ServiceFactory<Program> Factory { get; private set; } = null!;

    public Uri Endpoint { get; private set; } = null!;

    public ValueTask InitializeAsync()
    {
        Factory = new ServiceFactory<Program>(redis.ConnectionString, new Dictionary<string, string?> { ["HostedAgents:Enabled"] = "false" });
        using var client = Factory.CreateClient();
        Endpoint = new Uri(client.BaseAddress!, "/mcp");
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => Factory.DisposeAsync();
}

/// <summary>The gateway's tools as an MCP server (issue 13), through the official C# MCP client over real HTTP.</summary>
public sealed class McpServerTests(McpGatewayFixture fixture) : IClassFixture<McpGatewayFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_client_cannot_connect_without_an_api_key_and_the_answer_is_401_problem_details()
    {
        var refused = await Assert.ThrowsAnyAsync<HttpRequestException>(() => McpClients.ConnectAsync(fixture.Endpoint, apiKey: null, Ct));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);

        using var http = fixture.Factory.CreateClient();
        using var response = await http.PostAsync("/mcp", Initialize(), Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task A_wrong_api_key_is_refused_too()
    {
        var refused = await Assert.ThrowsAnyAsync<HttpRequestException>(() => McpClients.ConnectAsync(fixture.Endpoint, "wrong-key-0123456789abcdef", Ct));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task The_client_lists_the_gateway_tools_with_their_schemas()
    {
        await using var client = await McpClients.ConnectAsync(fixture.Endpoint, ServiceFactory<Program>.ApiKey, Ct);

        var tools = (await client.ListToolsAsync(cancellationToken: Ct)).ToDictionary(t => t.Name);

        Assert.Superset(new HashSet<string> { "echo", "calculate", "http_get", "time_now" }, tools.Keys.ToHashSet());
        var calculate = tools["calculate"].ProtocolTool;
        Assert.False(string.IsNullOrEmpty(calculate.Description));
        Assert.Equal("expression", calculate.InputSchema.GetProperty("required")[0].GetString());
        Assert.Equal("number", calculate.OutputSchema!.Value.GetProperty("properties").GetProperty("value").GetProperty("type").GetString());
    }

    [Fact]
    public async Task Calling_a_tool_runs_it_and_returns_its_validated_result()
    {
        await using var client = await McpClients.ConnectAsync(fixture.Endpoint, ServiceFactory<Program>.ApiKey, Ct);

        var result = await client.CallToolAsync("calculate", new Dictionary<string, object?> { ["expression"] = "6 * 7" }, cancellationToken: Ct);

        Assert.NotEqual(true, result.IsError);
        Assert.Equal(42, result.StructuredContent!.Value.GetProperty("value").GetDouble());
        var text = Assert.IsType<TextContentBlock>(Assert.Single(result.Content));
        Assert.Equal(42, JsonDocument.Parse(text.Text).RootElement.GetProperty("value").GetDouble());
    }

    [Fact]
    public async Task Arguments_that_break_the_input_schema_are_a_tool_error_naming_the_field_and_the_tool_does_not_run()
    {
        await using var client = await McpClients.ConnectAsync(fixture.Endpoint, ServiceFactory<Program>.ApiKey, Ct);

        var result = await client.CallToolAsync("calculate", new Dictionary<string, object?> { ["expr"] = "1 + 1" }, cancellationToken: Ct);

        Assert.True(result.IsError);
        var error = JsonDocument.Parse(Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text).RootElement.GetProperty("error");
        Assert.Equal("invalid_arguments", error.GetProperty("type").GetString());
        Assert.Contains(error.GetProperty("errors").EnumerateArray(), e => e.GetProperty("message").GetString()!.Contains("expression", StringComparison.Ordinal)
            || e.GetProperty("path").GetString()!.Contains("expr", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Arguments_the_tool_refuses_after_the_schema_are_a_tool_error_with_the_path()
    {
        await using var client = await McpClients.ConnectAsync(fixture.Endpoint, ServiceFactory<Program>.ApiKey, Ct);

        var result = await client.CallToolAsync("calculate", new Dictionary<string, object?> { ["expression"] = "1 / 0" }, cancellationToken: Ct);

        Assert.True(result.IsError);
        var error = JsonDocument.Parse(Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text).RootElement.GetProperty("error");
        Assert.Equal("/expression", error.GetProperty("errors")[0].GetProperty("path").GetString());
    }

    [Fact]
    public async Task An_unknown_tool_is_an_invalid_params_error()
    {
        await using var client = await McpClients.ConnectAsync(fixture.Endpoint, ServiceFactory<Program>.ApiKey, Ct);

        var error = await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync("no_such_tool", cancellationToken: Ct).AsTask());

        Assert.Equal(McpErrorCode.InvalidParams, error.ErrorCode);
    }

    [Fact]
    public async Task A_request_the_transport_refuses_is_a_4xx_problem_details_that_keeps_the_json_rpc_error()
    {
        using var http = fixture.Factory.CreateAuthorizedClient();

        // No Accept header: Streamable HTTP requires application/json and text/event-stream.
        using var notAcceptable = await http.PostAsync("/mcp", Initialize(), Ct);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/mcp") { Content = new StringContent("{not json", Encoding.UTF8, "application/json") };
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        using var notJson = await http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.NotAcceptable, notAcceptable.StatusCode);
        Assert.Equal("application/problem+json", notAcceptable.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await notAcceptable.Content.ReadAsStringAsync(Ct)).RootElement;
        Assert.Equal(406, problem.GetProperty("status").GetInt32());
        Assert.Contains("text/event-stream", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("2.0", problem.GetProperty("jsonrpc").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
        Assert.Equal("application/problem+json", notJson.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":1.5,"arguments":{"message":"hi"}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":[1]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":3,"method":"tools/call","params":"echo"}""")]
    [InlineData("""{"jsonrpc":"2.0","id":3,"method":"tools/call"}""")]
    [InlineData("""{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{"cursor":7}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"a":null,"b":[null]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":7,"capabilities":[],"clientInfo":{}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"initialize"}""")]
    [InlineData("""{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":1.7976931348623157e308,"arguments":{"message":"hi"},"$type":["x",null]}}""")]
    public async Task Json_rpc_params_of_the_wrong_shape_are_refused_without_a_5xx(string body)
    {
        using var response = await PostAsync(body, "application/json");
        var text = await response.Content.ReadAsStringAsync(Ct);

        Assert.True((int)response.StatusCode < 500, $"{(int)response.StatusCode}: {text}");
        if ((int)response.StatusCode >= 400)
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"id":2,"method":"tools/list"}""", "id")]
    [InlineData("""[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]""", "$")]
    [InlineData("", "$")]
    public async Task A_body_the_json_reader_refuses_is_400_naming_the_field(string body, string field)
    {
        using var response = await PostAsync(body, "application/json");
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    [Theory]
    [InlineData("application/json; charset=klingon")]
    [InlineData("application/json; charset=utf-16")]
    [InlineData("text/plain")]
    public async Task A_body_in_another_charset_or_media_type_is_415_problem_details(string contentType)
    {
        // Found by the fuzz tier: the MCP transport read an unknown charset with a 500.
        using var response = await PostAsync("""{"jsonrpc":"2.0","id":3,"method":"tools/list"}""", contentType);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task A_utf8_charset_spelled_without_the_dash_is_read()
    {
        using var response = await PostAsync("""{"jsonrpc":"2.0","id":3,"method":"tools/list"}""", "application/json; charset=UTF8");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("calculate", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    private async Task<HttpResponseMessage> PostAsync(string body, string contentType)
    {
        using var http = fixture.Factory.CreateAuthorizedClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/mcp") { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body)) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        var response = await http.SendAsync(request, Ct);
        await response.Content.LoadIntoBufferAsync(Ct);
        return response;
    }

    private static StringContent Initialize() => new(
        """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""",
        Encoding.UTF8, "application/json");
}
