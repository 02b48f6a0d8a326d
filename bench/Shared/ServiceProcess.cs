using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;

namespace Bench;

/// <summary>
/// A service's Release build (e.g. <c>artifacts/bin/Ai.Gateway/release/Ai.Gateway.dll</c>) running as its own
/// process on a free loopback port, configured through environment variables like a deployment (the idea of
/// <c>tests/TestSupport/ServiceProcess.cs</c>; a benchmark does not reference test projects). The bench project
/// references the service's project with <c>ReferenceOutputAssembly="false"</c>, so <c>dotnet run -c Release</c>
/// builds it first, in the same configuration.
/// </summary>
internal sealed class ServiceProcess : IAsyncDisposable
{
    private const int MaxOutputLines = 300;
    private readonly Process _process;
    private readonly Queue<string> _output = new();

    private ServiceProcess(Process process, string name, int port)
    {
        _process = process;
        Name = name;
        Port = port;
        BaseAddress = new Uri($"http://127.0.0.1:{port}/");
        _process.OutputDataReceived += (_, e) => Record(e.Data);
        _process.ErrorDataReceived += (_, e) => Record(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Name { get; }

    public int Port { get; }

    public Uri BaseAddress { get; }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The last lines the process wrote (stdout and stderr).</summary>
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
    /// Starts <paramref name="assemblyName"/>.dll with <paramref name="settings"/> as environment variables
    /// (<c>Gateway:Models:x:Qps</c> → <c>Gateway__Models__x__Qps</c>; a null value removes an inherited variable)
    /// in the Production environment and waits until <c>/health/ready</c> answers 200.
    /// </summary>
    public static async Task<ServiceProcess> StartAsync(string assemblyName, IDictionary<string, string?> settings, TimeSpan? startTimeout = null)
    {
        var assemblyPath = FindAssembly(assemblyName);
        for (var attempt = 1; ; attempt++)
        {
            var port = RedisProcess.FreePort();
            var service = Launch(assemblyName, assemblyPath, port, settings);
            try
            {
                await service.WaitUntilReadyAsync(startTimeout ?? TimeSpan.FromSeconds(90));
                return service;
            }
            catch (InvalidOperationException) when (attempt < 3 && service.HasExited && service.Output.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                await service.DisposeAsync();
            }
            catch
            {
                await service.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>
    /// <c>artifacts/bin/&lt;name&gt;/&lt;configuration&gt;/&lt;name&gt;.dll</c>, in the configuration this benchmark was
    /// built in (its own output is <c>artifacts/bin/&lt;bench&gt;/&lt;configuration&gt;/</c>).
    /// </summary>
    public static string FindAssembly(string assemblyName)
    {
        var own = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = own.Name;
        var bin = own.Parent?.Parent?.FullName ?? throw new InvalidOperationException($"Unexpected output folder {own.FullName}.");
        var path = Path.Combine(bin, assemblyName, configuration, assemblyName + ".dll");
        if (!File.Exists(path) || !File.Exists(Path.ChangeExtension(path, ".runtimeconfig.json")))
        {
            throw new InvalidOperationException(
                $"Cannot find {path}. Build it in the same configuration first (dotnet run -c Release --project bench/... does).");
        }

        if (!string.Equals(configuration, "release", StringComparison.OrdinalIgnoreCase))
        {
            Console.Error.WriteLine($"warning: running the '{configuration}' build; benchmark numbers need -c Release.");
        }

        return path;
    }

    public async ValueTask DisposeAsync()
    {
        Children.Kill(_process);
        _process.Dispose();
        await Task.CompletedTask;
    }

    private static ServiceProcess Launch(string name, string assemblyPath, int port, IDictionary<string, string?> settings)
    {
        var info = new ProcessStartInfo(DotnetHost())
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(assemblyPath)!,
        };
        info.ArgumentList.Add(assemblyPath);
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add($"http://127.0.0.1:{port}");

        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        info.Environment["Logging__Console__FormatterName"] = "simple";
        info.Environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
        info.Environment.Remove("ASPNETCORE_URLS");
        info.Environment.Remove("OTEL_EXPORTER_OTLP_ENDPOINT");
        foreach (var (key, value) in settings)
        {
            var variable = key.Replace(":", "__", StringComparison.Ordinal);
            if (value is null)
            {
                info.Environment.Remove(variable);
            }
            else
            {
                info.Environment[variable] = value;
            }
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {assemblyPath}.");
        Children.Track(process);
        return new ServiceProcess(process, name, port);
    }

    private async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        var clock = Stopwatch.StartNew();
        var last = "no answer yet";
        while (true)
        {
            if (_process.HasExited)
            {
                await _process.WaitForExitAsync();
                throw new InvalidOperationException($"{Name} exited with code {_process.ExitCode} before it was ready on port {Port}. Its output:\n{Output}");
            }

            if (clock.Elapsed > timeout)
            {
                throw new InvalidOperationException($"{Name} (pid {_process.Id}) was not ready on port {Port} within {timeout} (last: {last}). Its output:\n{Output}");
            }

            try
            {
                using var response = await client.GetAsync("health/ready");
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }

                last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
            }
            catch (HttpRequestException ex)
            {
                last = ex.Message;
            }
            catch (TaskCanceledException)
            {
                last = "the request timed out";
            }

            await Task.Delay(100);
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
            _output.Enqueue(line);
            if (_output.Count > MaxOutputLines)
            {
                _output.Dequeue();
            }
        }
    }

    /// <summary>The <c>dotnet</c> host running this benchmark (so the service runs on the same runtime).</summary>
    private static string DotnetHost()
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
        return File.Exists(candidate) ? candidate : RedisProcess.FindOnPath(executable) ?? executable;
    }
}
