using System.Diagnostics;
using System.Text.Json;

namespace AppHost.Tests;

/// <summary>
/// The deploy shape: the AppHost's publish manifest (what azd turns into Azure Container Apps)
/// has a Redis container, both services with their Redis reference and secret parameters.
/// </summary>
public sealed class ManifestTests
{
    private static readonly Lazy<Task<JsonElement>> Manifest = new(PublishManifestAsync);

    [Fact]
    public async Task Redis_is_a_container_when_publishing()
    {
        var resources = (await Manifest.Value).GetProperty("resources");

        Assert.Equal("container.v0", resources.GetProperty("redis").GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("ai-gateway")]
    [InlineData("orchestration-api")]
    public async Task Each_service_is_a_project_that_references_redis(string name)
    {
        var service = (await Manifest.Value).GetProperty("resources").GetProperty(name);

        Assert.Equal("project.v0", service.GetProperty("type").GetString());
        Assert.Equal("{redis.connectionString}", service.GetProperty("env").GetProperty("ConnectionStrings__redis").GetString());
    }

    [Theory]
    [InlineData("ai-gateway", "Auth__ApiKeys__client", "api-key")]
    [InlineData("orchestration-api", "Auth__ApiKeys__client", "api-key")]
    [InlineData("orchestration-api", "Auth__ApiKeys__gateway", "gateway-service-key")]
    [InlineData("ai-gateway", "HostedAgents__ApiKey", "gateway-service-key")]
    [InlineData("ai-gateway", "Bus__Signing__Keys__0__Secret", "bus-signing-key")]
    [InlineData("orchestration-api", "Bus__Signing__Keys__0__Secret", "bus-signing-key")]
    public async Task Secrets_come_from_secret_parameters(string service, string variable, string parameter)
    {
        var resources = (await Manifest.Value).GetProperty("resources");

        Assert.Equal($"{{{parameter}.value}}", resources.GetProperty(service).GetProperty("env").GetProperty(variable).GetString());
        var definition = resources.GetProperty(parameter);
        Assert.Equal("parameter.v0", definition.GetProperty("type").GetString());
        Assert.True(definition.GetProperty("inputs").GetProperty("value").GetProperty("secret").GetBoolean());
    }

    private static async Task<JsonElement> PublishManifestAsync()
    {
        var output = Path.Combine(Directory.CreateTempSubdirectory("manifest-").FullName, "aspire-manifest.json");
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "run", "--no-build", "--project", Projects.AppHost.ProjectPath, "--no-launch-profile",
                     "--", "--publisher", "manifest", "--output-path", output })
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["ASPIRE_VERSION_CHECK_DISABLED"] = "true";

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);

        Assert.True(process.ExitCode == 0 && File.Exists(output),
            $"Publishing the manifest failed (exit {process.ExitCode}):\n{await stdout}\n{await stderr}");
        using var file = File.OpenRead(output);
        return (await JsonDocument.ParseAsync(file)).RootElement.Clone();
    }
}
