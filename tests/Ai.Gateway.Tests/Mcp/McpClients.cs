using ModelContextProtocol.Client;

namespace Ai.Gateway.Tests.Mcp;

/// <summary>The official C# MCP client over Streamable HTTP, pointed at a running server.</summary>
public static class McpClients
{
    public static Task<McpClient> ConnectAsync(Uri endpoint, string? apiKey, CancellationToken cancellationToken)
    {
        var options = new HttpClientTransportOptions
        {
            Endpoint = endpoint,
            TransportMode = HttpTransportMode.StreamableHttp,
            Name = "tests",
        };
        if (apiKey is not null)
        {
            options.AdditionalHeaders = new Dictionary<string, string> { ["X-Api-Key"] = apiKey };
        }

        return McpClient.CreateAsync(new HttpClientTransport(options), cancellationToken: cancellationToken);
    }
}
