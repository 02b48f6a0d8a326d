namespace Ai.Gateway.Mcp;

/// <summary>External MCP servers whose tools the gateway mounts (configuration section <c>Gateway:Mcp</c>).</summary>
public sealed class McpMountOptions
{
    public const string SectionName = "Gateway:Mcp";

    /// <summary>By name: lower-case letters, digits and single underscores; the name prefixes the server's tools.</summary>
    public Dictionary<string, McpMountedServerOptions> Servers { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>One external MCP server (<c>Gateway:Mcp:Servers:&lt;name&gt;</c>).</summary>
public sealed class McpMountedServerOptions
{
    /// <summary>The Streamable HTTP endpoint, e.g. <c>https://tools.example.com/mcp</c>.</summary>
    public string? Url { get; set; }

    /// <summary>Sent on every request to the server (e.g. a tenant header). Not logged.</summary>
    public Dictionary<string, string> Headers { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Sent as <c>Authorization: Bearer &lt;ApiKey&gt;</c>. Not logged.</summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// The server's tools to mount, by the name the server lists them under; <c>*</c> (alone) mounts every tool it
    /// lists, now and later. Required: a server must not add callable tools to the gateway unless someone said so.
    /// </summary>
    public List<string> AllowedTools { get; set; } = [];

    /// <summary>Longest one call may take (connecting included); <c>Tools:TimeoutSeconds</c> caps it. Default 30 s.</summary>
    public double TimeoutSeconds { get; set; } = 30;

    /// <summary>How often the server's tool list is read again (and a dropped session reconnected). Default 60 s.</summary>
    public double RefreshSeconds { get; set; } = 60;

    /// <summary>Largest result (UTF-8 JSON bytes) passed on; a larger one is a tool error. Default 256 KiB.</summary>
    public int MaxResultBytes { get; set; } = 256 * 1024;

    public TimeSpan Timeout => TimeSpan.FromSeconds(TimeoutSeconds);

    public TimeSpan RefreshInterval => TimeSpan.FromSeconds(RefreshSeconds);

    public bool AllowsEveryTool => AllowedTools is ["*"];
}
