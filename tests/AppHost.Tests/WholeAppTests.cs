using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace AppHost.Tests;

/// <summary>The whole app, started as a user starts it, answers with the generated key and refuses without.</summary>
[Collection(AppHostCollection.Name)]
public sealed class WholeAppTests(AppHostFixture fixture)
{
    [Fact]
    public void Every_resource_is_running_and_healthy()
    {
        foreach (var name in new[] { "redis" }.Concat(AppHostFixture.Apps))
        {
            Assert.True(fixture.App.ResourceNotifications.TryGetCurrentState(name, out var resourceEvent), name);
            Assert.Equal(KnownResourceStates.Running, resourceEvent.Snapshot.State?.Text);
            Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, resourceEvent.Snapshot.HealthStatus);
        }
    }

    [Fact]
    public async Task Redis_runs_as_a_local_executable_on_loopback()
    {
        var connectionString = await fixture.App.GetConnectionStringAsync("redis", TestContext.Current.CancellationToken);

        Assert.Matches(@"^(localhost|127\.0\.0\.1):\d+$", connectionString);
    }

    [Fact]
    public async Task Orchestration_lists_agents_with_the_generated_key()
    {
        using var client = fixture.CreateClient("orchestration-api", withKey: true);

        var agents = await client.GetFromJsonAsync<JsonElement>("/api/agents", TestContext.Current.CancellationToken);

        Assert.Equal(JsonValueKind.Array, agents.ValueKind);
    }

    [Fact]
    public async Task Gateway_lists_models_with_the_generated_key()
    {
        using var client = fixture.CreateClient("ai-gateway", withKey: true);

        var catalog = await client.GetFromJsonAsync<JsonElement>("/v1/gateway/models", TestContext.Current.CancellationToken);

        Assert.NotEmpty(catalog.GetProperty("models").EnumerateArray());
    }

    [Theory]
    [InlineData("orchestration-api", "/api/agents")]
    [InlineData("ai-gateway", "/v1/models")]
    public async Task Both_services_refuse_calls_without_the_key(string resource, string path)
    {
        using var client = fixture.CreateClient(resource, withKey: false);

        using var response = await client.GetAsync(path, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("orchestration-api")]
    [InlineData("ai-gateway")]
    public async Task Both_services_answer_health_probes_without_a_key(string resource)
    {
        using var client = fixture.CreateClient(resource, withKey: false);

        foreach (var path in new[] { "/alive", "/health", "/health/ready" })
        {
            using var response = await client.GetAsync(path, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    [Fact]
    public async Task Scripts_key_prints_the_key_the_app_accepts()
    {
        var root = Deploy.PublishedManifest.RepositoryRoot;
        var info = new System.Diagnostics.ProcessStartInfo("bash", [Path.Combine(root, "scripts", "key")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };

        using var process = System.Diagnostics.Process.Start(info)!;
        var output = await process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);

        Assert.Equal(0, process.ExitCode);
        Assert.Equal(fixture.ApiKey, output.Trim());
    }
}
