using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using TestSupport;

namespace Ai.Gateway.Tests.Mcp;

/// <summary>
/// A real MCP server for the gateway to mount: ModelContextProtocol.AspNetCore over Streamable HTTP (sessions on, as
/// most servers run) on 127.0.0.1 and a fixed port, so it can be stopped and started again at the same address. It
/// wants <c>Authorization: Bearer <see cref="ApiKey"/></c> and records every request's headers and every tool call.
/// </summary>
public sealed class TestMcpServer : IAsyncDisposable
{
    public const string ApiKey = "remote-key-0123456789abcdef";

    private const string AddInput = """
        {
          "type": "object",
          "properties": { "a": { "type": "number" }, "b": { "type": "number" } },
          "required": ["a", "b"],
          "additionalProperties": false
        }
        """;

    private const string SumOutput = """
        { "type": "object", "properties": { "sum": { "type": "number" } }, "required": ["sum"] }
        """;

    private static readonly Tool[] Tools =
    [
        Define("add", "Adds two numbers.", AddInput, SumOutput),
        Define("greet", "Greets someone by name.", """{ "type": "object", "properties": { "name": { "type": "string" } }, "required": ["name"] }"""),
        Define("Get-Weather", "The weather in a city.", """{ "type": "object", "properties": { "city": { "type": "string" } }, "required": ["city"] }"""),
        Define("fail", "Always reports an error.", """{ "type": "object" }"""),
        Define("liar", "Promises a number, returns a string.", """{ "type": "object" }""", SumOutput),
        Define("slow", "Answers only when cancelled.", """{ "type": "object" }"""),
        Define("secret", "Must never be mounted.", """{ "type": "object" }"""),
    ];

    private WebApplication? _app;

    private TestMcpServer(int port) => Port = port;

    public int Port { get; }

    public Uri Endpoint => new($"http://127.0.0.1:{Port}/mcp");

    /// <summary>Every tools/call: the tool's name and its arguments as JSON.</summary>
    public ConcurrentQueue<(string Tool, string Arguments)> Calls { get; } = new();

    /// <summary>The <c>X-Tenant</c> header of every request that carried one.</summary>
    public ConcurrentQueue<string> Tenants { get; } = new();

    /// <summary>Completes when a call to <c>slow</c> arrives.</summary>
    public TaskCompletionSource SlowCalled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static async Task<TestMcpServer> StartAsync()
    {
        var server = new TestMcpServer(LocalProcesses.FreePort());
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>A server with a port but not listening yet: the gateway finds it down.</summary>
    public static TestMcpServer NotStarted() => new(LocalProcesses.FreePort());

    public bool WasCalledWith(string tool, string fragment) =>
        Calls.Any(c => c.Tool == tool && c.Arguments.Contains(fragment, StringComparison.Ordinal));

    public async Task StartAgainAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{Port}");
        builder.Logging.ClearProviders();
        builder.Services
            .AddMcpServer(options => options.ServerInfo = new Implementation { Name = "test-remote", Version = "1.0" })
            .WithHttpTransport()
            .WithListToolsHandler((_, _) => ValueTask.FromResult(new ListToolsResult { Tools = [.. Tools] }))
            .WithCallToolHandler(CallAsync);
        var app = builder.Build();
        app.Use(async (HttpContext context, RequestDelegate next) =>
        {
            if (context.Request.Headers.Authorization.ToString() != $"Bearer {ApiKey}")
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                return;
            }

            if (context.Request.Headers.TryGetValue("X-Tenant", out var tenant))
            {
                Tenants.Enqueue(tenant.ToString());
            }

            await next(context);
        });
        app.MapMcp("/mcp");
        await app.StartAsync();
        _app = app;
    }

    public async Task StopAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    public ValueTask DisposeAsync() => new(StopAsync());

    private async ValueTask<CallToolResult> CallAsync(RequestContext<CallToolRequestParams> request, CancellationToken cancellationToken)
    {
        var name = request.Params?.Name ?? "";
        var arguments = request.Params?.Arguments is { } given ? JsonSerializer.SerializeToElement(given) : JsonSerializer.SerializeToElement(new { });
        Calls.Enqueue((name, arguments.GetRawText()));
        switch (name)
        {
            case "add":
                var sum = arguments.GetProperty("a").GetDouble() + arguments.GetProperty("b").GetDouble();
                return new CallToolResult
                {
                    Content = [new TextContentBlock { Text = JsonSerializer.Serialize(new { sum }) }],
                    StructuredContent = JsonSerializer.SerializeToElement(new { sum }),
                };
            case "greet":
                return Text($"Hello, {arguments.GetProperty("name").GetString()}!");
            case "Get-Weather":
                return Text($"Sunny in {arguments.GetProperty("city").GetString()}");
            case "fail":
                return new CallToolResult { IsError = true, Content = [new TextContentBlock { Text = "The remote tool broke: disk full." }] };
            case "liar":
                return new CallToolResult { Content = [], StructuredContent = JsonSerializer.SerializeToElement(new { sum = "five" }) };
            case "slow":
                SlowCalled.TrySetResult();
                await Task.Delay(Timeout.Infinite, cancellationToken);
                return Text("never");
            default:
                throw new McpProtocolException($"Unknown tool '{name}'.", McpErrorCode.InvalidParams);
        }
    }

    private static CallToolResult Text(string text) => new() { Content = [new TextContentBlock { Text = text }] };

    private static Tool Define(string name, string description, string input, string? output = null) => new()
    {
        Name = name,
        Description = description,
        InputSchema = JsonDocument.Parse(input).RootElement.Clone(),
        OutputSchema = output is null ? null : JsonDocument.Parse(output).RootElement.Clone(),
    };
}
