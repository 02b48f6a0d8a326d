using System.Collections.Concurrent;
using Ai.Gateway.Tools;
using Microsoft.Extensions.Options;
using ModelContextProtocol.Client;

namespace Ai.Gateway.Mcp;

/// <summary>
/// Keeps the tools of each configured MCP server (<c>Gateway:Mcp:Servers</c>) mounted in the <see cref="ToolRuntime"/>:
/// reads the server's <c>tools/list</c> at start and every <c>RefreshSeconds</c> (on the app's TimeProvider), and
/// mounts the tools its <c>AllowedTools</c> names as <c>&lt;server&gt;__&lt;tool&gt;</c>. A server that is down does
/// not hold up the gateway: until it first answers it has no tools (a warning, and the <c>mcp-servers</c> health
/// check reports Degraded); when a later refresh fails, the tools listed before stay mounted and a call to them is a
/// tool error until the server is back.
/// </summary>
internal sealed partial class McpToolMounter : BackgroundService
{
    private readonly ToolRuntime _runtime;
    private readonly TimeProvider _time;
    private readonly ILogger<McpToolMounter> _logger;
    private readonly ConcurrentDictionary<string, string> _lastReported = new(StringComparer.Ordinal);

    public McpToolMounter(IOptions<McpMountOptions> options, ToolRuntime runtime, IHttpClientFactory httpClients, ILoggerFactory loggers,
        TimeProvider time, ILogger<McpToolMounter> logger)
    {
        _runtime = runtime;
        _time = time;
        _logger = logger;
        Servers = options.Value.Servers
            .OrderBy(s => s.Key, StringComparer.Ordinal)
            .Select(s => new McpServerConnection(s.Key, s.Value, httpClients, loggers, time))
            .ToList();
    }

    public IReadOnlyList<McpServerConnection> Servers { get; }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Servers.Select(server => KeepMountedAsync(server, stoppingToken)));

    private async Task KeepMountedAsync(McpServerConnection server, CancellationToken stoppingToken)
    {
        try
        {
            while (true)
            {
                try
                {
                    await RefreshAsync(server, stoppingToken);
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    // Never let one server's surprise end its refreshes (or, through the host, the gateway).
                    LogRefreshThrew(e, server.Name);
                }

                await Task.Delay(server.Options.RefreshInterval, _time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The gateway is stopping.
        }
    }

    /// <summary>Reads the server's tool list once and mounts what it allows; a failure keeps the tools mounted before.</summary>
    internal async Task RefreshAsync(McpServerConnection server, CancellationToken cancellationToken)
    {
        IList<McpClientTool> listed;
        try
        {
            listed = await server.ListToolsAsync(cancellationToken);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            var problem = $"tools/list failed ({e.GetType().Name}): {e.Message}";
            server.Status = server.Status with { Listed = false, Problem = problem };
            if (Changed(server, "down:" + problem))
            {
                LogListFailed(server.Name, problem, server.Status.MountedTools);
            }

            return;
        }

        var (tools, refused) = Select(server, listed);
        refused.AddRange(_runtime.Mount(server.Name, tools));
        var mounted = tools.Select(t => t.Name).Except(refused.Select(r => r.Name), StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        server.Status = new McpServerStatus(true, mounted.Count, null);

        var missing = server.Options.AllowsEveryTool ? new List<string>()
            : server.Options.AllowedTools.Except(listed.Select(t => t.ProtocolTool.Name), StringComparer.Ordinal).ToList();
        var outcome = string.Join(",", mounted) + "|" + string.Join(",", refused.Select(r => $"{r.Name}:{r.Reason}")) + "|" + string.Join(",", missing);
        if (Changed(server, "up:" + outcome))
        {
            LogMounted(server.Name, mounted.Count, string.Join(", ", mounted));
            foreach (var tool in refused)
            {
                LogRefused(server.Name, tool.Name, tool.Reason);
            }

            if (missing.Count > 0)
            {
                LogNotListed(server.Name, string.Join(", ", missing));
            }
        }
    }

    private static (List<ITool> Tools, List<RefusedTool> Refused) Select(McpServerConnection server, IList<McpClientTool> listed)
    {
        var allowed = server.Options.AllowsEveryTool ? null : server.Options.AllowedTools.ToHashSet(StringComparer.Ordinal);
        var candidates = new List<McpRemoteTool>();
        var refused = new List<RefusedTool>();
        foreach (var tool in listed.Select(t => t.ProtocolTool))
        {
            if (allowed is not null && !allowed.Contains(tool.Name))
            {
                continue;
            }

            if (!McpToolNames.TryMount(server.Name, tool.Name, out var name, out var problem))
            {
                refused.Add(new RefusedTool(tool.Name, problem));
                continue;
            }

            if (SchemaUsability.Problem(tool.InputSchema) is { } unusable)
            {
                refused.Add(new RefusedTool(name, $"Its input schema cannot be used: {unusable}"));
                continue;
            }

            candidates.Add(new McpRemoteTool(server, name, tool.Name, tool.Description ?? tool.Title ?? "",
                tool.InputSchema.Clone(), tool.OutputSchema?.Clone() ?? McpRemoteTool.AnyValue));
        }

        // Two remote names that became one gateway name: neither is mounted, since a caller's meaning is unclear.
        foreach (var clash in candidates.GroupBy(t => t.Name, StringComparer.Ordinal).Where(g => g.Count() > 1).ToList())
        {
            refused.AddRange(clash.Select(t => new RefusedTool(t.RemoteName, $"Another tool of the server is also mounted as '{clash.Key}'.")));
            candidates.RemoveAll(t => t.Name == clash.Key);
        }

        return (candidates.Cast<ITool>().ToList(), refused);
    }

    private bool Changed(McpServerConnection server, string outcome)
    {
        var changed = !_lastReported.TryGetValue(server.Name, out var previous) || previous != outcome;
        _lastReported[server.Name] = outcome;
        return changed;
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        foreach (var server in Servers)
        {
            await server.DisposeAsync();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "MCP server {Server} did not list its tools: {Problem}. {Mounted} of its tools stay mounted; refreshing again later")]
    private partial void LogListFailed(string server, string problem, int mounted);

    [LoggerMessage(Level = LogLevel.Error, Message = "Refreshing the tools of MCP server {Server} failed unexpectedly")]
    private partial void LogRefreshThrew(Exception exception, string server);

    [LoggerMessage(Level = LogLevel.Information, Message = "MCP server {Server}: {Count} tools mounted ({Tools})")]
    private partial void LogMounted(string server, int count, string tools);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MCP server {Server}: tool {Tool} is not mounted: {Reason}")]
    private partial void LogRefused(string server, string tool, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MCP server {Server} does not list these AllowedTools: {Tools}")]
    private partial void LogNotListed(string server, string tools);
}
