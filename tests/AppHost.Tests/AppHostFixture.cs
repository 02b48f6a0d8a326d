using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TestSupport;

namespace AppHost.Tests;

/// <summary>
/// Starts the whole AppHost once for the collection (executable Redis in a temporary data folder; in the cluster tier,
/// <c>TEST_REDIS=cluster</c>, a local 3-master <see cref="RedisCluster"/> given as <c>Redis:Mode connectionString</c>)
/// and waits, with a timeout, until every resource is healthy.
/// </summary>
public sealed class AppHostFixture : IAsyncLifetime
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);
    public static readonly string[] Services = ["orchestration-api", "ai-gateway"];

    /// <summary>Every project the AppHost starts: the services and the web console.</summary>
    public static readonly string[] Apps = [.. Services, "console"];

    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("apphost-redis-").FullName;

    private RedisCluster? _cluster;

    public DistributedApplication App { get; private set; } = null!;

    public string ApiKey { get; private set; } = "";

    /// <summary>
    /// The bus signing secret the AppHost generated for agents joining from outside (key id "outside-agents", bound
    /// to senders "outside.*").
    /// </summary>
    public string OutsideAgentsBusKey { get; private set; } = "";

    /// <summary>orchestration-api's bus key (key id "orchestration-api"): an outside C# agent verifies its TASKs with it.</summary>
    public string OrchestrationBusKey { get; private set; } = "";
    /// <summary>The key people sign in to the console with.</summary>
    public string ConsoleKey { get; private set; } = "";


    public async ValueTask InitializeAsync()
    {
        // Fail fast with advice instead of waiting for a resource that can never start.
        if (RedisServer.FindOnPath("redis-server") is null)
        {
            throw new InvalidOperationException(
                "redis-server is not on PATH; the AppHost tests run Redis as an executable. Run ./scripts/test or 'sudo apt-get install -y redis-server'.");
        }

        using var timeout = new CancellationTokenSource(StartTimeout);
        string[] redis = ["--Redis:Mode", "executable", "--Redis:DataDirectory", _dataDirectory];
        if (TestRedis.IsCluster)
        {
            _cluster = await RedisCluster.StartAsync();
            redis = ["--Redis:Mode", "connectionString", "--ConnectionStrings:redis", _cluster.ConnectionString];
        }

        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(redis, timeout.Token);
        builder.Services.AddLogging(logging => logging
            .SetMinimumLevel(LogLevel.Warning)
            .AddFilter("Aspire.Hosting.Dcp", LogLevel.Error));

        App = await builder.BuildAsync(timeout.Token);
        await App.StartAsync(timeout.Token);

        // A connection string resource has no process to watch: the services' readiness checks cover the cluster.
        foreach (var resource in (_cluster is null ? new[] { "redis" } : []).Concat(Apps))
        {
            await App.ResourceNotifications.WaitForResourceHealthyAsync(resource, WaitBehavior.StopOnResourceUnavailable, timeout.Token);
        }

        ApiKey = await ParameterAsync(builder, "api-key", timeout.Token);
        OutsideAgentsBusKey = await ParameterAsync(builder, "bus-key-outside-agents", timeout.Token);
        OrchestrationBusKey = await ParameterAsync(builder, "bus-key-orchestration-api", timeout.Token);
        ConsoleKey = await ParameterAsync(builder, "console-api-key", timeout.Token);
    }

    private static async Task<string> ParameterAsync(IDistributedApplicationTestingBuilder builder, string name, CancellationToken cancellationToken) =>
        await builder.Resources.OfType<ParameterResource>().Single(p => p.Name == name).GetValueAsync(cancellationToken)
            ?? throw new InvalidOperationException($"The {name} parameter has no value.");

    public async ValueTask DisposeAsync()
    {
        if (App is not null)
        {
            await App.DisposeAsync();
        }

        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    public HttpClient CreateClient(string resource, bool withKey)
    {
        var client = App.CreateHttpClient(resource);
        if (withKey)
        {
            client.DefaultRequestHeaders.Authorization = new("Bearer", ApiKey);
        }

        return client;
    }
}

[CollectionDefinition(Name)]
public sealed class AppHostCollection : ICollectionFixture<AppHostFixture>
{
    public const string Name = "AppHost";
}
