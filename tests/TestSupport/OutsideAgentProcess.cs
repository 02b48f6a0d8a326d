using System.Diagnostics;
using System.Globalization;
namespace TestSupport;

/// <summary>
/// tests/OutsideAgent as its own OS process (found like a service: <see cref="ServiceProcess.FindAssembly"/>, or the
/// build a benchmark gives), configured
/// through environment variables; ready once it has written <c>ready &lt;pid&gt;</c> to its ledger (subscribed and
/// registered). <see cref="KillAsync"/> is SIGKILL: no graceful stop, its pending entries stay with its consumer.
/// </summary>
public sealed class OutsideAgentProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Queue<string> _output = new();

    private OutsideAgentProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Record(e.Data);
        _process.ErrorDataReceived += (_, e) => Record(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int ProcessId => _process.Id;

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

    public static async Task<OutsideAgentProcess> StartAsync(IDictionary<string, string?> settings, OutsideAgentLedger ledger, string? assemblyPath = null)
    {
        var assembly = assemblyPath ?? ServiceProcess.FindAssembly("OutsideAgent");
        var info = new ProcessStartInfo(LocalProcesses.DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(assembly)!,
        };
        info.ArgumentList.Add(assembly);
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        info.Environment["Logging__Console__FormatterName"] = "simple";
        info.Environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
        info.Environment.Remove("OTEL_EXPORTER_OTLP_ENDPOINT");
        foreach (var (key, value) in settings)
        {
            info.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        info.Environment["Agent__Ledger"] = ledger.Path;
        var agent = new OutsideAgentProcess(LocalProcesses.Start(info));
        try
        {
            await Eventually.TrueAsync(() => agent._process.HasExited
                    ? throw new InvalidOperationException($"The outside agent exited with code {agent._process.ExitCode}:\n{agent.Output}")
                    : ledger.Read().Any(e => e.What == "ready" && e.Pid == agent.ProcessId),
                ServiceProcess.DefaultStartTimeout, "the outside agent subscribed and registered");
            return agent;
        }
        catch
        {
            await agent.DisposeAsync();
            throw;
        }
    }

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
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
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
            if (_output.Count > 200)
            {
                _output.Dequeue();
            }
        }
    }
}

/// <summary>One line of the outside agent's ledger: <c>received|held|answered|ready pid [runId stepId attempt]</c>.</summary>
public sealed record LedgerEntry(string What, int Pid, string? RunId, string? StepId, int Attempt)
{
    public string Key => $"{RunId}/{StepId}#{Attempt}";
}

/// <summary>The file every outside agent instance of a test appends its task events to (it survives kill -9).</summary>
public sealed class OutsideAgentLedger : IDisposable
{
    /// <summary>The ledger file (a new one in the temporary folder).</summary>
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"outside-agent-{Guid.NewGuid():N}.ledger");

    public IReadOnlyList<LedgerEntry> Read()
    {
        if (!File.Exists(Path))
        {
            return [];
        }

        using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        var entries = new List<LedgerEntry>();
        while (reader.ReadLine() is { } line)
        {
            var parts = line.Split(' ');
            if (parts.Length is 2 or 5 && int.TryParse(parts[1], CultureInfo.InvariantCulture, out var pid))
            {
                entries.Add(parts.Length == 2
                    ? new LedgerEntry(parts[0], pid, null, null, 0)
                    : new LedgerEntry(parts[0], pid, parts[2], parts[3], int.Parse(parts[4], CultureInfo.InvariantCulture)));
            }
        }

        return entries;
    }

    public void Dispose() => File.Delete(Path);
}
