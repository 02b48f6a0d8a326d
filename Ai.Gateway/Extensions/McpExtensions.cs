using Ai.Gateway.Mcp;
using Microsoft.Extensions.Options;
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

    /// <summary>
    /// The tools of the external MCP servers in <c>Gateway:Mcp:Servers</c> (validated at start-up), mounted in the
    /// tool runtime as <c>&lt;server&gt;__&lt;tool&gt;</c> and refreshed in the background; health check <c>mcp-servers</c>.
    /// </summary>
    public static IHostApplicationBuilder AddMcpToolMounts(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<McpMountOptions>().BindConfiguration(McpMountOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<McpMountOptions>, McpMountOptionsValidator>();
        services.AddSingleton<McpToolMounter>();
        services.AddHostedService(sp => sp.GetRequiredService<McpToolMounter>());
        services.AddHealthChecks().AddCheck<McpServersHealthCheck>(McpServersHealthCheck.Name);

        services.AddHttpClient(McpServerConnection.HttpClientName)
            .ConfigureHttpClient(client => client.Timeout = Timeout.InfiniteTimeSpan) // each server's TimeoutSeconds governs
            // Drop the app-wide handlers: the standard resilience handler would retry tools/call POSTs (not safe to
            // repeat) and cut long answers at its own timeouts; the Url is used as configured.
            .ConfigureAdditionalHttpMessageHandlers((handlers, _) => handlers.Clear());
        return builder;
    }
}
