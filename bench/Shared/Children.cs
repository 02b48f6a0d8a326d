using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Bench;

/// <summary>
/// Every process a load benchmark starts (redis-server, the services, a fake upstream) and the temporary
/// directories they use. They are killed, and the directories deleted, on every way out: the normal end
/// (dispose), an exception (dispose in <c>finally</c>), Ctrl+C (SIGINT), SIGTERM, SIGHUP and process exit.
/// </summary>
internal static class Children
{
    private static readonly Lock s_lock = new();
    private static readonly List<Process> s_processes = [];
    private static readonly List<string> s_directories = [];
    // Kept referenced so the registrations live as long as the process.
    private static PosixSignalRegistration[] s_signals = [];

    /// <summary>Installs the signal and exit handlers; call once at the start of <c>Main</c>.</summary>
    public static void Install()
    {
        if (s_signals.Length > 0)
        {
            return;
        }

        s_signals =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal),
            PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnSignal),
        ];
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
        TestSupport.LocalProcesses.Started += Track; // redis-server and the services, started by the shared launcher
    }

    public static void Track(Process process)
    {
        lock (s_lock)
        {
            s_processes.Add(process);
        }
    }

    public static void TrackDirectory(string directory)
    {
        lock (s_lock)
        {
            s_directories.Add(directory);
        }
    }

    /// <summary>Kills one tracked process (and what it started) and waits for it to be gone.</summary>
    public static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            process.WaitForExit(10_000);
        }
        catch (InvalidOperationException)
        {
            // Never started or already reaped.
        }

        lock (s_lock)
        {
            s_processes.Remove(process);
        }
    }

    public static void DeleteDirectory(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        lock (s_lock)
        {
            s_directories.Remove(directory);
        }
    }

    public static void KillAll()
    {
        Process[] processes;
        string[] directories;
        lock (s_lock)
        {
            processes = [.. s_processes];
            directories = [.. s_directories];
        }

        // Services first, redis-server last (it was started first): the services do not log Redis errors on the way out.
        foreach (var process in processes.Reverse())
        {
            Kill(process);
        }

        foreach (var directory in directories)
        {
            DeleteDirectory(directory);
        }
    }

    private static void OnSignal(PosixSignalContext context)
    {
        Console.Error.WriteLine($"{context.Signal}: stopping the child processes and redis-server.");
        KillAll();
        // context.Cancel stays false: the runtime then ends the process as the signal asks.
    }
}
