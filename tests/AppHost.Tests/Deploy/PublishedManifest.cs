using System.Diagnostics;
using System.Text.Json;

namespace AppHost.Tests.Deploy;

/// <summary>The AppHost's publish manifest, produced the way the README says (<c>scripts/manifest</c>).</summary>
internal static class PublishedManifest
{
    public static readonly string RepositoryRoot = Path.GetFullPath(Path.Combine(
        File.Exists(Projects.AppHost.ProjectPath) ? Path.GetDirectoryName(Projects.AppHost.ProjectPath)! : Projects.AppHost.ProjectPath, ".."));

    private static readonly Lazy<Task<JsonElement>> DefaultShape = new(() => PublishAsync());
    private static readonly Lazy<Task<JsonElement>> ManagedRedisShape = new(() => PublishAsync(environment: ("AZURE_REDIS_MODE", "connectionString")));

    /// <summary>What <c>azd up</c> deploys by default: a Redis container.</summary>
    public static Task<JsonElement> Default => DefaultShape.Value;

    /// <summary>What <c>azd up</c> deploys with <c>AZURE_REDIS_MODE=connectionString</c>: a managed Redis.</summary>
    public static Task<JsonElement> ManagedRedis => ManagedRedisShape.Value;

    public static JsonElement Resource(this JsonElement manifest, string name) => manifest.GetProperty("resources").GetProperty(name);

    /// <summary>Runs <c>scripts/manifest --no-build</c> and returns the parsed file.</summary>
    public static async Task<JsonElement> PublishAsync(string? output = null, (string Name, string Value)? environment = null)
    {
        output ??= Path.Combine(Directory.CreateTempSubdirectory("manifest-").FullName, "aspire-manifest.json");
        var (exitCode, log) = await RunScriptAsync(environment, "--no-build", output);

        Assert.True(exitCode == 0 && File.Exists(output), $"scripts/manifest failed (exit {exitCode}):\n{log}");
        await using var file = File.OpenRead(output);
        return (await JsonDocument.ParseAsync(file)).RootElement.Clone();
    }

    public static async Task<(int ExitCode, string Log)> RunScriptAsync((string Name, string Value)? environment, params string[] args)
    {
        var info = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepositoryRoot,
        };
        info.ArgumentList.Add(Path.Combine(RepositoryRoot, "scripts", "manifest"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        // The test host's own settings must not change what is published.
        info.Environment.Remove("AZURE_REDIS_MODE");
        info.Environment.Remove("Redis__Mode");
        if (environment is { } variable)
        {
            info.Environment[variable.Name] = variable.Value;
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
