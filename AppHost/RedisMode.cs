using System.Diagnostics;

namespace AppHost;

/// <summary>How the AppHost provides Redis (configuration key <c>Redis:Mode</c>).</summary>
public enum RedisMode
{
    /// <summary>A container when a container runtime answers, else a local redis-server, else stop with advice.</summary>
    Auto,

    /// <summary>The official Redis container (needs Docker or Podman), with a data volume and an append-only file. Published by default.</summary>
    Container,

    /// <summary>A local <c>redis-server</c> executable on loopback, on a free port, with an append-only file.</summary>
    Executable,

    /// <summary>An existing server given as <c>ConnectionStrings:redis</c>; published, a secret parameter (a managed Redis).</summary>
    ConnectionString,
}

/// <summary>What the machine offers, asked lazily so that an explicit mode costs no probing.</summary>
public interface IRedisEnvironment
{
    bool ContainerRuntimeAnswers();

    string? FindRedisServer();
}

/// <summary>Redis cannot be provided as configured; the message says what to do. Printed without a stack trace.</summary>
public sealed class RedisSetupException(string message) : InvalidOperationException(message);

public static class RedisModeSelector
{
    public const string ConnectionStringAdvice =
        "Redis:Mode connectionString needs the server's address in ConnectionStrings:redis, e.g. " +
        "'--ConnectionStrings:redis localhost:6379' or 'ConnectionStrings__redis=host:port,password=...'.";

    public const string InstallAdvice =
        "No Redis is available: no container runtime answered and 'redis-server' is not on PATH. " +
        "Install Redis (Debian/Ubuntu: 'sudo apt-get install -y redis-server'; macOS: 'brew install redis'), " +
        "or start Docker/Podman, or point the app at a server with " +
        "'--Redis:Mode connectionString --ConnectionStrings:redis host:port'. " +
        "'./scripts/run' installs redis-server for you on Debian/Ubuntu.";

    /// <summary>Parses <c>Redis:Mode</c>; null or empty means <see cref="RedisMode.Auto"/>.</summary>
    public static RedisMode Parse(string? value) =>
        string.IsNullOrWhiteSpace(value) ? RedisMode.Auto
        : Enum.TryParse<RedisMode>(value, ignoreCase: true, out var mode) && Enum.IsDefined(mode) ? mode
        : throw new RedisSetupException(
            $"Redis:Mode '{value}' is not valid; use auto, container, executable or connectionString.");

    /// <summary>
    /// Resolves the mode to use: publishing uses the container unless a connection string (a managed
    /// Redis) is asked for; <c>auto</c> probes the machine.
    /// </summary>
    public static RedisMode Choose(RedisMode configured, bool isPublishMode, IRedisEnvironment environment)
    {
        if (isPublishMode)
        {
            return configured == RedisMode.ConnectionString ? RedisMode.ConnectionString : RedisMode.Container;
        }

        if (configured != RedisMode.Auto)
        {
            return configured;
        }

        if (environment.ContainerRuntimeAnswers())
        {
            return RedisMode.Container;
        }

        return environment.FindRedisServer() is not null
            ? RedisMode.Executable
            : throw new RedisSetupException(InstallAdvice);
    }
}

/// <summary>Probes the real machine: runs '&lt;runtime&gt; info' with a timeout and searches PATH.</summary>
public sealed class MachineRedisEnvironment(string containerRuntime, string redisServerCommand) : IRedisEnvironment
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);

    public bool ContainerRuntimeAnswers()
    {
        if (FindOnPath(containerRuntime) is not { } runtime)
        {
            return false;
        }

        try
        {
            using var process = Process.Start(new ProcessStartInfo(runtime, "info --format {{.ServerVersion}}")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            });
            if (process is null)
            {
                return false;
            }

            if (!process.WaitForExit(ProbeTimeout))
            {
                process.Kill(entireProcessTree: true);
                return false;
            }

            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    public string? FindRedisServer() => FindOnPath(redisServerCommand);

    public static string? FindOnPath(string command)
    {
        if (Path.IsPathRooted(command))
        {
            return File.Exists(command) ? command : null;
        }

        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        var extensions = OperatingSystem.IsWindows() ? new[] { ".exe", ".cmd", "" } : new[] { "" };
        return path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .SelectMany(dir => extensions.Select(ext => Path.Combine(dir, command + ext)))
            .FirstOrDefault(File.Exists);
    }
}
