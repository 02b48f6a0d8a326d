using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace TestSupport;

/// <summary>
/// A real <c>redis-server</c> on loopback and a free port, started for a test fixture and killed
/// afterwards. Fails fast, with install advice, when redis-server is not on PATH.
/// </summary>
public sealed class RedisServer : ITestRedis
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);
    private readonly string _directory;
    private readonly string _executable;
    private readonly string[] _extraArgs;
    private Process _process;

    private RedisServer(Process process, int port, string directory, string executable, string[] extraArgs)
    {
        _process = process;
        Port = port;
        _directory = directory;
        _executable = executable;
        _extraArgs = extraArgs;
    }

    public int Port { get; }

    /// <summary>The running server's process id (a new one after <see cref="RestartAsync"/>).</summary>
    public int ProcessId => _process.Id;

    /// <summary>A StackExchange.Redis connection string for this server.</summary>
    public string ConnectionString => $"127.0.0.1:{Port},abortConnect=false";

    public static async Task<RedisServer> StartAsync(params string[] extraArgs)
    {
        var executable = LocalProcesses.FindOnPath("redis-server") ?? throw new InvalidOperationException(
            "redis-server is not on PATH. The tests need a real Redis: 'sudo apt-get install -y redis-server' " +
            "(or run ./scripts/test, which installs it).");

        var directory = Directory.CreateTempSubdirectory("redis-test-").FullName;
        for (var attempt = 0; ; attempt++)
        {
            var port = LocalProcesses.FreePort();
            var (process, output) = Launch(executable, port, directory, extraArgs);
            var server = new RedisServer(process, port, directory, executable, extraArgs);
            if (await server.WaitForPingAsync())
            {
                return server;
            }

            server.Kill();
            if (attempt >= 3)
            {
                string log;
                lock (output) { log = output.ToString(); }
                throw new InvalidOperationException($"redis-server did not answer PING on port {port} within {StartTimeout}:\n{log}");
            }
        }
    }

    /// <summary>Kills the server (as a crash would), keeping its port for <see cref="RestartAsync"/>.</summary>
    public void Stop() => Kill();

    /// <summary>Starts the server again on the same port (empty: nothing is persisted) and waits until it answers.</summary>
    public async Task RestartAsync()
    {
        Kill();
        var (process, output) = Launch(_executable, Port, _directory, _extraArgs);
        _process = process;
        if (!await WaitForPingAsync())
        {
            string log;
            lock (output) { log = output.ToString(); }
            throw new InvalidOperationException($"redis-server did not restart on port {Port} within {StartTimeout}:\n{log}");
        }
    }

    private static (Process Process, StringBuilder Output) Launch(string executable, int port, string directory, string[] extraArgs)
    {
        var info = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        foreach (var arg in new[] { "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
                     "--save", "", "--appendonly", "no", "--dir", directory }.Concat(extraArgs))
        {
            info.ArgumentList.Add(arg);
        }

        var process = LocalProcesses.Start(info);
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return (process, output);
    }

    /// <summary>Sends one inline command (e.g. <c>FLUSHALL</c>) and returns the first reply line.</summary>
    public async Task<string> CommandAsync(string command)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(command + "\r\n"));
        var buffer = new byte[4096];
        var read = await stream.ReadAsync(buffer);
        return Encoding.ASCII.GetString(buffer, 0, read).TrimEnd();
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }

        return ValueTask.CompletedTask;
    }

    private void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }

    private async Task<bool> WaitForPingAsync()
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < StartTimeout)
        {
            if (_process.HasExited)
            {
                return false;
            }

            try
            {
                if ((await CommandAsync("PING")).Contains("PONG", StringComparison.Ordinal))
                {
                    return true;
                }
            }
            catch (SocketException)
            {
            }

            await Task.Delay(25);
        }

        return false;
    }


    /// <summary>The full path of <paramref name="command"/> on PATH, or null (<see cref="LocalProcesses.FindOnPath"/>).</summary>
    public static string? FindOnPath(string command) => LocalProcesses.FindOnPath(command);
}
