using Ai.Gateway.Mcp;
using ModelContextProtocol.Protocol;

namespace Ai.Gateway.Extensions;

public static class McpExtensions
{
    /// <summary>
    /// The MCP server over the tool runtime (Streamable HTTP, mapped by <c>MapMcpApi</c>). Stateless: every request
    /// stands alone, so any replica can answer it and no session outlives a request.
    /// </summary>
    public static IHostApplicationBuilder AddMcpToolServer(this IHostApplicationBuilder builder)
    {
        builder.Services
            .AddMcpServer(options => options.ServerInfo = new Implementation { Name = "ai-gateway", Version = "1.0" })
            .WithHttpTransport(options => options.Stateless = true)
            .WithListToolsHandler(McpToolServer.ListToolsAsync)
            .WithCallToolHandler(McpToolServer.CallToolAsync);
        return builder;
    }
}
