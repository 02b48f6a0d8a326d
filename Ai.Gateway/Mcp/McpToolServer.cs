using System.Text.Json;
using Ai.Gateway.Tools;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Ai.Gateway.Mcp;

/// <summary>
/// The gateway's tools over MCP: <c>tools/list</c> shows what <see cref="ToolRuntime"/> holds (built-in and mounted
/// tools, with their schemas), <c>tools/call</c> runs through the same runtime as <c>/v1/tools/{name}/invoke</c>
/// and model tool calls, so validation, time limits and telemetry are the same. A call the runtime refuses or that
/// fails is a tool result with <c>isError: true</c> (the caller can read and correct it); an unknown tool is a
/// JSON-RPC invalid-params error, as the MCP specification asks.
/// </summary>
internal static class McpToolServer
{
    public static ValueTask<ListToolsResult> ListToolsAsync(RequestContext<ListToolsRequestParams> request, CancellationToken cancellationToken)
    {
        var runtime = request.Services!.GetRequiredService<ToolRuntime>();
        return ValueTask.FromResult(new ListToolsResult { Tools = [.. runtime.Tools.Select(ToProtocolTool)] });
    }

    public static async ValueTask<CallToolResult> CallToolAsync(RequestContext<CallToolRequestParams> request, CancellationToken cancellationToken)
    {
        var runtime = request.Services!.GetRequiredService<ToolRuntime>();
        var name = request.Params?.Name ?? "";
        if (!runtime.TryGetTool(name, out _))
        {
            throw new McpProtocolException($"There is no tool named '{name}'. tools/list lists them.", McpErrorCode.InvalidParams);
        }

        var arguments = request.Params!.Arguments is { } given ? JsonSerializer.SerializeToElement(given) : default;
        var outcome = await runtime.InvokeAsync(name, arguments, cancellationToken);
        if (!outcome.Succeeded)
        {
            var error = ToolFunction.ErrorJson(outcome);
            return new CallToolResult { IsError = true, Content = [new TextContentBlock { Text = error.GetRawText() }] };
        }

        return new CallToolResult
        {
            Content = [new TextContentBlock { Text = outcome.Result.GetRawText() }],
            StructuredContent = outcome.Result.ValueKind == JsonValueKind.Object ? outcome.Result : null,
        };
    }

    private static Tool ToProtocolTool(ToolDescriptor tool) => new()
    {
        Name = tool.Name,
        Description = tool.Description,
        InputSchema = tool.InputSchema,
        // MCP's structured results are objects: a tool whose results may be anything else answers in text only.
        OutputSchema = IsObjectSchema(tool.OutputSchema) ? tool.OutputSchema : null,
    };

    private static bool IsObjectSchema(JsonElement schema) =>
        schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("type", out var type)
        && type.ValueKind == JsonValueKind.String && type.GetString() == "object";
}
