using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace TestSupport;

/// <summary>
/// A local Redis Cluster of three masters and no replicas: three <see cref="RedisServer"/>s started with
/// <c>--cluster-enabled yes</c> (each with its own directory, so its own <c>nodes.conf</c>, and no persistence, like
/// <see cref="RedisServer"/>), joined by <c>redis-cli --cluster create</c>, and ready when every node reports
/// <c>cluster_state:ok</c>. No containers: Debian's redis-server and redis-cli (scripts/ensure-redis).
/// </summary>
public sealed class RedisCluster : ITestRedis
{
    private const int Masters = 3;
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);
    private readonly List<RedisServer> _nodes;

    private RedisCluster(List<RedisServer> nodes) => _nodes = nodes;

    /// <summary>The nodes (masters), in the order they were created.</summary>
    public IReadOnlyList<RedisServer> Nodes => _nodes;

    /// <summary>Every node, so StackExchange.Redis discovers the cluster from any of them.</summary>
    public string ConnectionString =>
        string.Join(',', _nodes.Select(n => $"127.0.0.1:{n.Port.ToString(CultureInfo.InvariantCulture)}")) + ",abortConnect=false";

    public static async Task<RedisCluster> StartAsync()
    {
        var cli = LocalProcesses.FindOnPath("redis-cli") ?? throw new InvalidOperationException(
            "redis-cli is not on PATH (it comes with Debian's redis-server: run ./scripts/test or scripts/ensure-redis).");
        var nodes = new List<RedisServer>();
        var cluster = new RedisCluster(nodes);
        try
        {
            for (var i = 0; i < Masters; i++)
            {
                // The cluster bus port is given explicitly: the default (port + 10000) may be past 65535 for a free
                // port from the ephemeral range.
                nodes.Add(await RedisServer.StartAsync(
                    "--cluster-enabled", "yes",
                    "--cluster-config-file", "nodes.conf",
                    "--cluster-node-timeout", "5000",
                    "--cluster-port", LocalProcesses.FreePort().ToString(CultureInfo.InvariantCulture)));
            }

            await CreateAsync(cli, nodes);
            await cluster.WaitUntilReadyAsync();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private static async Task CreateAsync(string cli, List<RedisServer> nodes)
    {
        var info = new ProcessStartInfo(cli)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("--cluster");
        info.ArgumentList.Add("create");
        foreach (var node in nodes)
        {
            info.ArgumentList.Add($"127.0.0.1:{node.Port.ToString(CultureInfo.InvariantCulture)}");
        }

        info.ArgumentList.Add("--cluster-replicas");
        info.ArgumentList.Add("0");
        info.ArgumentList.Add("--cluster-yes");

        using var process = LocalProcesses.Start(info);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(ReadyTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"redis-cli --cluster create did not finish within {ReadyTimeout}.");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"redis-cli --cluster create failed ({process.ExitCode}):\n{await output}\n{await error}");
        }
    }

    /// <summary>Waits until every node sees all 16384 slots served (<c>cluster_state:ok</c>).</summary>
    public async Task WaitUntilReadyAsync()
    {
        var deadline = Stopwatch.StartNew();
        var last = new StringBuilder();
        while (true)
        {
            last.Clear();
            var ready = true;
            foreach (var node in _nodes)
            {
                var info = await node.CommandAsync("CLUSTER INFO");
                if (!info.Contains("cluster_state:ok", StringComparison.Ordinal))
                {
                    ready = false;
                    last.Append(CultureInfo.InvariantCulture, $"{node.Port}: {info}\n");
                }
            }

            if (ready)
            {
                return;
            }

            if (deadline.Elapsed > ReadyTimeout)
            {
                throw new InvalidOperationException($"The cluster did not reach cluster_state:ok within {ReadyTimeout}:\n{last}");
            }

            await Task.Delay(25);
        }
    }

    /// <summary>Sends one inline command to every node (e.g. <c>SCRIPT FLUSH</c>) and returns their first reply lines.</summary>
    public async Task<string[]> CommandOnEveryNodeAsync(string command) =>
        await Task.WhenAll(_nodes.Select(n => n.CommandAsync(command)));

    /// <inheritdoc />
    public async Task<string> CommandAsync(string command)
    {
        var replies = await CommandOnEveryNodeAsync(command);
        return replies.Distinct(StringComparer.Ordinal).Count() == 1 ? replies[0] : string.Join('\n', replies);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }
    }
}
