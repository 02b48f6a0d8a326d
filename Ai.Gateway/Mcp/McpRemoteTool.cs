using System.Text.Json;
using System.Text.Json.Nodes;
using Ai.Gateway.Tools;

namespace Ai.Gateway.Mcp;

/// <summary>
/// A tool of an external MCP server, mounted as <c>&lt;server&gt;__&lt;tool&gt;</c>: its input schema is the
/// server's, its output schema the server's <c>outputSchema</c> or, without one, any value. The tool runtime checks
/// both, as for every tool; the call itself goes to the server.
/// </summary>
internal sealed class McpRemoteTool(McpServerConnection server, string name, string remoteName, string description,
    JsonElement inputSchema, JsonElement outputSchema) : ITool
{
    /// <summary>Any JSON value: a server that declares no output schema.</summary>
    public static readonly JsonElement AnyValue = JsonDocument.Parse("{}").RootElement.Clone();

    public string Name => name;

    /// <summary>The name the server lists the tool under.</summary>
    public string RemoteName => remoteName;

    public string Description => description;

    public JsonElement InputSchema => inputSchema;

    public JsonElement OutputSchema => outputSchema;

    public Task<JsonNode?> InvokeAsync(JsonElement arguments, CancellationToken cancellationToken) =>
        server.CallAsync(remoteName, arguments, cancellationToken);
}
