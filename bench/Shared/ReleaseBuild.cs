using TestSupport;

namespace Bench;

/// <summary>
/// The services as a benchmark runs them: the Release build next to this benchmark's own output, in the
/// Production environment, started through the tests' launcher (<see cref="ServiceProcess"/>, tracked by
/// <see cref="Children"/>). The bench project references the service's project with
/// <c>ReferenceOutputAssembly="false"</c>, so <c>dotnet run -c Release</c> builds it first, in the same configuration.
/// </summary>
internal static class ReleaseBuild
{
    /// <summary>
    /// Starts <paramref name="assemblyName"/> with <paramref name="settings"/> as environment variables
    /// (<c>Gateway:Models:x:Qps</c> → <c>Gateway__Models__x__Qps</c>; a null value removes an inherited variable)
    /// in the Production environment and waits until <c>/health/ready</c> answers 200.
    /// </summary>
    public static Task<ServiceProcess> StartServiceAsync(string assemblyName, IDictionary<string, string?> settings, TimeSpan? startTimeout = null,
        int? port = null, string? outputFile = null) =>
        ServiceProcess.StartAssemblyAsync(FindAssembly(assemblyName), settings, "Production", startTimeout, port: port, outputFile: outputFile);

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
}
