using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Bench;

/// <summary>A throw-away redis-server on a free loopback port (no persistence), killed on every way out (<see cref="Children"/>).</summary>
internal sealed class RedisProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private RedisProcess(Process process, int port, string directory)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    public int ProcessId => _process.Id;

    /// <summary>A StackExchange.Redis connection string for this server.</summary>
    public string ConnectionString => $"127.0.0.1:{Port}";

    public static async Task<RedisProcess> StartAsync()
    {
        var executable = FindOnPath("redis-server") ?? throw new InvalidOperationException(
            "redis-server is not on PATH. This benchmark starts its own Redis: install it first " +
            "('sudo apt-get install -y redis-server', or run scripts/ensure-redis).");

        for (var attempt = 1; ; attempt++)
        {
            var directory = Directory.CreateTempSubdirectory("bench-redis-").FullName;
            Children.TrackDirectory(directory);
            var port = FreePort();
            var info = new ProcessStartInfo(executable)
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = directory,
            };
            foreach (var arg in new[] { "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory })
            {
                info.ArgumentList.Add(arg);
            }

            var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {executable}.");
            Children.Track(process);
            var output = new StringBuilder();
            process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
            process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();

            var started = Stopwatch.StartNew();
            while (true)
            {
                try
                {
                    using var client = new TcpClient();
                    await client.ConnectAsync(IPAddress.Loopback, port);
                    return new RedisProcess(process, port, directory);
                }
                catch (SocketException) when (started.Elapsed < TimeSpan.FromSeconds(20) && !process.HasExited)
                {
                    await Task.Delay(25);
                }
                catch (SocketException) when (attempt < 3 && process.HasExited)
                {
                    // Another process took the port between the probe and the bind: try another one.
                    Children.Kill(process);
                    Children.DeleteDirectory(directory);
                    break;
                }
                catch (SocketException)
                {
                    Children.Kill(process);
                    string text;
                    lock (output)
                    {
                        text = output.ToString();
                    }

                    throw new InvalidOperationException($"redis-server did not start on port {port}. Its output:\n{text}");
                }
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        Children.Kill(_process);
        _process.Dispose();
        Children.DeleteDirectory(_directory);
        return ValueTask.CompletedTask;
    }

    public static string? FindOnPath(string command) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, command))
            .FirstOrDefault(File.Exists);

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
