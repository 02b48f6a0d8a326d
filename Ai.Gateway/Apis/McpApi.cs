using Ai.Gateway.Mcp;

namespace Ai.Gateway.Apis;

public static class McpApi
{
    /// <summary>The route of the gateway's MCP server (Streamable HTTP).</summary>
    public const string Route = "/mcp";

    /// <summary>The gateway's tools as an MCP server at <see cref="Route"/>, behind the API key like every /v1 route.</summary>
    public static IEndpointRouteBuilder MapMcpApi(this IEndpointRouteBuilder app)
    {
        app.MapMcp(Route)
            .RequireAuthorization(ApiRoles.Client)
            .WithTags("MCP")
            .GuardedLikeEveryRoute();
        return app;
    }
}
