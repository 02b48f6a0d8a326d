using TestSupport;

namespace Orchestration.Api.Tests.Integration;

/// <summary>
/// Both services started from another working directory (a shell in the repository root, a service manager,
/// <c>dotnet /path/to/Service.dll</c>) still read the <c>appsettings.json</c> next to their assembly: the content
/// root is the app's own folder, not the current directory.
/// </summary>
[Collection(nameof(ServiceProcesses))]
public sealed class ContentRootTests : IAsyncLifetime
{
    private RedisServer _redis = null!;
    private string _elsewhere = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _elsewhere = Directory.CreateTempSubdirectory("content-root-").FullName;
    }

    public async ValueTask DisposeAsync()
    {
        await _redis.DisposeAsync();
        Directory.Delete(_elsewhere, recursive: true);
    }

    [Theory]
    [InlineData("Orchestration.Api")]
    [InlineData("Ai.Gateway")]
    public async Task A_service_started_from_another_directory_reads_the_settings_next_to_its_assembly(string service)
    {
        await using var process = await ServiceProcess.StartAsync(service, _redis.ConnectionString, cancellationToken: Ct, workingDirectory: _elsewhere);
        var ownFolder = Path.GetDirectoryName(process.AssemblyPath)!;

        await Eventually.TrueAsync(() => process.Output.Contains("Content root path:", StringComparison.Ordinal),
            because: "the host logs its content root at start");
        Assert.Contains($"Content root path: {ownFolder}", process.Output, StringComparison.Ordinal);
        if (service == "Ai.Gateway")
        {
            // The model catalog exists only in the gateway's appsettings.json.
            using var api = process.CreateAuthorizedClient();
            var models = await api.GetStringAsync("v1/models", Ct);
            Assert.Contains("gemini-3.5-flash", models, StringComparison.Ordinal);
        }
    }
}
