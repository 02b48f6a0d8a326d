using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Ai.Gateway.Mcp;

/// <summary>
/// <c>mcp-servers</c>: Degraded (never Unhealthy) while a configured MCP server has not answered its last
/// <c>tools/list</c>: the gateway serves everything else, only that server's tools are absent or fail.
/// </summary>
internal sealed class McpServersHealthCheck(McpToolMounter mounter) : IHealthCheck
{
    public const string Name = "mcp-servers";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = mounter.Servers.ToDictionary(s => s.Name, s => (object)(s.Status.Problem ?? $"{s.Status.MountedTools} tools mounted"));
        var down = mounter.Servers.Where(s => !s.Status.Listed).Select(s => s.Name).ToList();
        return Task.FromResult(down.Count == 0
            ? HealthCheckResult.Healthy($"{mounter.Servers.Count} MCP servers answer.", data)
            : HealthCheckResult.Degraded($"MCP servers not answering (their tools are absent or fail): {string.Join(", ", down)}.", data: data));
    }
}
