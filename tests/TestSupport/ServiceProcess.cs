using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace TestSupport;

/// <summary>
/// A service's built assembly (e.g. <c>Orchestration.Api.dll</c>) running as its own OS process on a free
/// loopback port, configured through environment variables like a deployment, so a test can kill it hard
/// (no graceful shutdown, no finally blocks) and start another one against the same Redis.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    /// <summary>How long a process may take to answer <c>/health/ready</c> (this machine is slow and shared).</summary>
    public static readonly TimeSpan DefaultStartTimeout = TimeSpan.FromSeconds(90);

    private const int MaxOutputLines = 400;
    private readonly Process _process;
    private readonly Queue<string> _output = new();

    private readonly StreamWriter? _outputFile;

    private ServiceProcess(Process process, string assemblyPath, int port, string? outputFile)
    {
        _process = process;
        _outputFile = outputFile is null ? null : new StreamWriter(new FileStream(outputFile, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        AssemblyPath = assemblyPath;
        Port = port;
        BaseAddress = new Uri($"http://127.0.0.1:{port}/");
        _process.OutputDataReceived += (_, e) => Record(e.Data);
        _process.ErrorDataReceived += (_, e) => Record(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string AssemblyPath { get; }

    public int Port { get; }

    public Uri BaseAddress { get; }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The last lines the process wrote (stdout and stderr), for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output);
            }
        }
    }

    /// <summary>
    /// Starts <paramref name="assemblyName"/>.dll with <c>dotnet</c> against <paramref name="redisConnectionString"/>
    /// with the <see cref="TestSecrets"/> (API key, bus signing key) and waits until <c>/health/ready</c> answers 200.
    /// <paramref name="settings"/> are configuration keys (<c>Orchestration:OutboxGrace</c>), passed as environment
    /// variables (<c>Orchestration__OutboxGrace</c>); a null value removes an inherited variable. Throws, with the
    /// process's output, when it exits or is not ready within <paramref name="startTimeout"/>.
    /// </summary>
    public static Task<ServiceProcess> StartAsync(string assemblyName, string redisConnectionString,
        IDictionary<string, string?>? settings = null, TimeSpan? startTimeout = null, CancellationToken cancellationToken = default,
        string? workingDirectory = null)
    {
        var environment = TestSecrets.ServiceSettings(redisConnectionString);
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            environment[key] = value;
        }

        return StartAssemblyAsync(FindAssembly(assemblyName), environment, "Testing", startTimeout, cancellationToken, workingDirectory);
    }

    /// <summary>
    /// Starts the built service at <paramref name="assemblyPath"/> in the <paramref name="environmentName"/> environment
    /// with exactly <paramref name="settings"/> (configuration keys, passed as environment variables; a null value
    /// removes an inherited variable) and waits until <c>/health/ready</c> answers 200 (the benchmarks' entry point:
    /// a Release build, Production, their own settings). The process runs in <paramref name="workingDirectory"/>,
    /// by default the assembly's own folder. <paramref name="port"/>: listen there (a replica restarted at its
    /// predecessor's address, as behind a stable service address) instead of on a free port. <paramref name="outputFile"/>:
    /// also append every line the process writes to that file (the output kept in memory is only the last lines).
    /// </summary>
    public static async Task<ServiceProcess> StartAssemblyAsync(string assemblyPath, IDictionary<string, string?> settings,
        string environmentName, TimeSpan? startTimeout = null, CancellationToken cancellationToken = default, string? workingDirectory = null,
        int? port = null, string? outputFile = null)
    {
        var timeout = startTimeout ?? DefaultStartTimeout;
        for (var attempt = 1; ; attempt++)
        {
            var service = Launch(assemblyPath, port ?? LocalProcesses.FreePort(), settings, environmentName, workingDirectory, outputFile);
            try
            {
                await service.WaitUntilReadyAsync(timeout, cancellationToken);
                return service;
            }
            catch (InvalidOperationException) when (attempt < 3 && service.HasExited && service.Output.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                // Another process took the free port between our probe and the bind: pick another one (or, for a fixed
                // port, try it again once its last holder is gone).
                await service.DisposeAsync();
            }
            catch
            {
                await service.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>Kills the process and everything it started, at once (like a crashed pod), and waits for it to be gone.</summary>
    public async Task KillAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (InvalidOperationException)
        {
            // Never started or already gone.
        }
    }

    /// <summary>A client for this process that sends <paramref name="apiKey"/> (default: <see cref="TestSecrets.ApiKey"/>).</summary>
    public HttpClient CreateAuthorizedClient(string? apiKey = null)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        client.DefaultRequestHeaders.Add("X-Api-Key", apiKey ?? TestSecrets.ApiKey);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
        if (_outputFile is not null)
        {
            lock (_output)
            {
                _outputFile.Dispose();
            }
        }
    }

    /// <summary>
    /// The service's built assembly: next to the test assembly (a project reference copies it there with its
    /// runtimeconfig), else in <c>artifacts/bin/&lt;name&gt;/&lt;configuration&gt;/</c> of the repository.
    /// </summary>
    public static string FindAssembly(string assemblyName)
    {
        var fileName = assemblyName + ".dll";
        var candidates = new List<string> { Path.Combine(AppContext.BaseDirectory, fileName) };

        // artifacts/bin/<TestProject>/<config>/ → artifacts/bin/<assemblyName>/<config>/, then any configuration.
        var testDirectory = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        for (var directory = testDirectory; directory is not null; directory = directory.Parent)
        {
            var bin = Path.Combine(directory.FullName, "artifacts", "bin", assemblyName);
            if (Directory.Exists(bin))
            {
                candidates.Add(Path.Combine(bin, testDirectory.Name, fileName));
                candidates.AddRange(Directory.EnumerateDirectories(bin)
                    .Select(d => Path.Combine(d, fileName))
                    .OrderByDescending(f => File.Exists(f) ? File.GetLastWriteTimeUtc(f) : DateTime.MinValue));
                break;
            }
        }

        return candidates.FirstOrDefault(f => File.Exists(f) && File.Exists(Path.ChangeExtension(f, ".runtimeconfig.json")))
            ?? throw new InvalidOperationException(
                $"Cannot find a runnable {fileName} (with its .runtimeconfig.json). Looked in:\n  {string.Join("\n  ", candidates.Distinct())}\n" +
                $"Build it first ('dotnet build Aspire.sln'), or reference its project from the test project.");
    }

    private static ServiceProcess Launch(string assemblyPath, int port, IDictionary<string, string?> environment, string environmentName, string? workingDirectory,
        string? outputFile)
    {
        var info = new ProcessStartInfo(LocalProcesses.DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Path.GetDirectoryName(assemblyPath)!,
        };
        info.ArgumentList.Add(assemblyPath);
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add($"http://127.0.0.1:{port}");

        info.Environment["ASPNETCORE_ENVIRONMENT"] = environmentName;
        info.Environment["DOTNET_ENVIRONMENT"] = environmentName;
        info.Environment["Logging__Console__FormatterName"] = "simple";
        info.Environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
        info.Environment.Remove("ASPNETCORE_URLS");
        info.Environment.Remove("OTEL_EXPORTER_OTLP_ENDPOINT");
        foreach (var (key, value) in environment)
        {
            var name = key.Replace(":", "__", StringComparison.Ordinal);
            if (value is null)
            {
                info.Environment.Remove(name);
            }
            else
            {
                info.Environment[name] = value;
            }
        }

        var process = LocalProcesses.Start(info);
        return new ServiceProcess(process, assemblyPath, port, outputFile);
    }

    private async Task WaitUntilReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        var clock = Stopwatch.StartNew();
        string last = "no answer yet";
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_process.HasExited)
            {
                // Let the output readers drain what the process wrote before it died.
                await _process.WaitForExitAsync(cancellationToken);
                throw new InvalidOperationException(
                    $"{Path.GetFileName(AssemblyPath)} exited with code {_process.ExitCode} before it was ready on port {Port}. Its output:\n{Output}");
            }

            if (clock.Elapsed > timeout)
            {
                throw new InvalidOperationException(
                    $"{Path.GetFileName(AssemblyPath)} (pid {_process.Id}) was not ready on port {Port} within {timeout} (last: {last}). Its output:\n{Output}");
            }

            try
            {
                using var response = await client.GetAsync("health/ready", cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }

                last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}";
            }
            catch (HttpRequestException ex)
            {
                last = ex.Message;
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                last = "the request timed out";
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    private void Record(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            try
            {
                _outputFile?.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
            }

            _output.Enqueue(line);
            if (_output.Count > MaxOutputLines)
            {
                _output.Dequeue();
            }
        }
    }
}
