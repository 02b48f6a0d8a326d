using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace TestSupport;

/// <summary>
/// The one process launcher of the tests and the benchmarks (bench/ references this project): finding an
/// executable, a free loopback port, the <c>dotnet</c> host, and starting a process so that whoever needs to can
/// track it (<see cref="Started"/>: the benchmarks kill what they started on Ctrl+C and on exit).
/// <see cref="RedisServer"/> and <see cref="ServiceProcess"/> start their processes here.
/// </summary>
public static class LocalProcesses
{
    /// <summary>Raised for every process started here, right after it started.</summary>
    public static event Action<Process>? Started;

    /// <summary>Starts <paramref name="info"/> and raises <see cref="Started"/>.</summary>
    public static Process Start(ProcessStartInfo info)
    {
        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start '{info.FileName}'.");
        Started?.Invoke(process);
        return process;
    }

    /// <summary>The full path of <paramref name="command"/> on PATH, or null.</summary>
    public static string? FindOnPath(string command) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, command))
            .FirstOrDefault(File.Exists);

    /// <summary>A loopback port free right now (another process may still take it before it is bound: retry on "address already in use").</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The <c>dotnet</c> host running this process (so a started service runs on the same runtime).</summary>
    public static string DotnetHost()
    {
        var executable = RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? "dotnet.exe" : "dotnet";
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath))
        {
            return hostPath;
        }

        if (Environment.ProcessPath is { } current && Path.GetFileName(current) == executable)
        {
            return current;
        }

        // <root>/shared/Microsoft.NETCore.App/<version>/ → <root>/dotnet
        var root = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        var candidate = Path.Combine(root, executable);
        return File.Exists(candidate) ? candidate : FindOnPath(executable) ?? executable;
    }
}
