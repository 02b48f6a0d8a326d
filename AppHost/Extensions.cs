using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AppHost;

internal static class Extensions
{
    public const string RedisName = "redis";

    /// <summary>The named volume of the Redis container (a fixed name, so the manifest is the same on every machine).</summary>
    public const string RedisVolumeName = "redis-data";

    /// <summary>Liveness: the process answers (ServiceDefaults' <c>/alive</c>).</summary>
    public const string LivenessPath = "/alive";

    /// <summary>Readiness: Redis and the bus consumers answer (ServiceDefaults' <c>/health/ready</c>).</summary>
    public const string ReadinessPath = "/health/ready";

    /// <summary>
    /// Adds the <c>redis</c> resource as <c>Redis:Mode</c> says (see <see cref="RedisMode"/>):
    /// a container, a local redis-server, or an existing server's connection string.
    /// </summary>
    public static IResourceBuilder<IResourceWithConnectionString> AddRedisForThisMachine(this IDistributedApplicationBuilder builder)
    {
        var config = builder.Configuration;
        var redisCommand = config["Redis:Command"] ?? "redis-server";
        var environment = new MachineRedisEnvironment(
            config["ASPIRE_CONTAINER_RUNTIME"] ?? config["DOTNET_ASPIRE_CONTAINER_RUNTIME"] ?? "docker",
            redisCommand);

        // When publishing, AZURE_REDIS_MODE is the same switch under the name azd's templates read
        // (AppHost/infra), so one exported variable changes the manifest and the templates together.
        var configured = builder.ExecutionContext.IsPublishMode && !string.IsNullOrEmpty(config["AZURE_REDIS_MODE"])
            ? config["AZURE_REDIS_MODE"]
            : config["Redis:Mode"];
        var mode = RedisModeSelector.Choose(
            RedisModeSelector.Parse(configured),
            builder.ExecutionContext.IsPublishMode,
            environment);

        return mode switch
        {
            RedisMode.Container => builder.AddRedis(RedisName)
                .WithDataVolume(RedisVolumeName)
                .WithAppendOnlyFile(),
            RedisMode.ConnectionString when builder.ExecutionContext.IsRunMode && string.IsNullOrWhiteSpace(config[$"ConnectionStrings:{RedisName}"])
                => throw new RedisSetupException(RedisModeSelector.ConnectionStringAdvice),
            RedisMode.ConnectionString => builder.AddConnectionString(RedisName),
            _ => builder.AddRedisServer(
                RedisName,
                environment.FindRedisServer() ?? throw new RedisSetupException(RedisModeSelector.InstallAdvice),
                config["Redis:DataDirectory"] ?? Path.Combine(builder.AppHostDirectory, ".redis-data")),
        };
    }

    /// <summary>
    /// Runs <c>redis-server</c> without a container: loopback only, a free port chosen by the
    /// orchestrator, an append-only file in <paramref name="dataDirectory"/>, and a real health
    /// check (PING) so that <c>WaitFor</c> waits until Redis answers.
    /// </summary>
    public static IResourceBuilder<RedisServerResource> AddRedisServer(
        this IDistributedApplicationBuilder builder, string name, string command, string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        var resource = new RedisServerResource(name, command, builder.AppHostDirectory);

        string? connectionString = null;
        builder.Eventing.Subscribe<ConnectionStringAvailableEvent>(resource, async (_, ct) =>
            connectionString = await ((IResourceWithConnectionString)resource).GetConnectionStringAsync(ct));

        var healthCheckKey = $"{name}_check";
        builder.Services.AddHealthChecks().AddRedis(
            _ => connectionString ?? throw new InvalidOperationException($"The connection string of '{name}' is not available yet."),
            name: healthCheckKey);

        return builder.AddResource(resource)
            .WithEndpoint(name: RedisServerResource.PrimaryEndpointName, scheme: "tcp", isProxied: false)
            .WithArgs(context =>
            {
                context.Args.Add("--port");
                context.Args.Add(resource.PrimaryEndpoint.Property(EndpointProperty.TargetPort));
                context.Args.Add("--bind");
                context.Args.Add("127.0.0.1");
                context.Args.Add("--dir");
                context.Args.Add(dataDirectory);
                context.Args.Add("--appendonly");
                context.Args.Add("yes");
                context.Args.Add("--save");
                context.Args.Add("");
            })
            .WithHealthCheck(healthCheckKey);
    }

    /// <summary>
    /// Keeps every write: append-only file (fsync every second) beside the snapshots that
    /// <c>WithDataVolume</c> turns on, both in the container's <c>/data</c> volume.
    /// </summary>
    public static IResourceBuilder<RedisResource> WithAppendOnlyFile(this IResourceBuilder<RedisResource> redis) =>
        redis.WithArgs(context =>
        {
            string[] appendOnly = ["--appendonly", "yes", "--appendfsync", "everysec"];

            // Published, the Redis resource runs '/bin/sh -c "redis-server ..."': extend that command line.
            var script = context.Args.IndexOf("-c") + 1;
            if (script > 0 && script < context.Args.Count && context.Args[script] is string command)
            {
                context.Args[script] = $"{command} {string.Join(' ', appendOnly)}";
                return;
            }

            foreach (var arg in appendOnly)
            {
                context.Args.Add(arg);
            }
        });

    /// <summary>
    /// A service of ours reads only <c>ConnectionStrings__*</c> and <c>services__*</c>: references add
    /// no copies such as <c>REDIS_PASSWORD</c> (fewer secrets in each container). Call before <c>WithReference</c>.
    /// </summary>
    public static IResourceBuilder<ProjectResource> AddService<TProject>(this IDistributedApplicationBuilder builder, string name)
        where TProject : IProjectMetadata, new() =>
        builder.AddProject<TProject>(name)
            .WithReferenceEnvironment(ReferenceEnvironmentInjectionFlags.ConnectionString | ReferenceEnvironmentInjectionFlags.ServiceDiscovery);

    /// <summary>
    /// Marks the HTTP endpoints external (clients and outside agents call them) and declares the
    /// probes a deployment uses: liveness on <c>/alive</c>, readiness on <c>/health/ready</c>.
    /// Each probe also becomes an HTTP health check of the local run.
    /// </summary>
    public static IResourceBuilder<ProjectResource> AsPublicService(this IResourceBuilder<ProjectResource> service) =>
#pragma warning disable ASPIREPROBES001 // Aspire's probe annotations are experimental; AppHost/infra carries them for azd.
        service.WithExternalHttpEndpoints()
            .WithHttpProbe(ProbeType.Liveness, LivenessPath, initialDelaySeconds: 5, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3)
            .WithHttpProbe(ProbeType.Readiness, ReadinessPath, initialDelaySeconds: 3, periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 3);
#pragma warning restore ASPIREPROBES001

    /// <summary>
    /// A secret parameter that is always declared (so a deployment can set it) but may stay empty:
    /// a local run without a value gets the empty string instead of a prompt.
    /// </summary>
    public static IResourceBuilder<ParameterResource> AddOptionalSecret(this IDistributedApplicationBuilder builder, string name) =>
        builder.ExecutionContext.IsRunMode
            ? builder.AddParameter(name, new EmptyDefault(), secret: true)
            : builder.AddParameter(name, secret: true); // published without a default: azd refuses one on a secret

    private sealed class EmptyDefault : ParameterDefault
    {
        public override string GetDefaultValue() => "";

        public override void WriteToManifest(Aspire.Hosting.Publishing.ManifestPublishingContext context) =>
            throw new InvalidOperationException("An optional secret is published without a default.");
    }

    /// <summary>A secret the AppHost generates once and keeps in the user secrets store for local runs.</summary>
    public static IResourceBuilder<ParameterResource> AddGeneratedSecret(this IDistributedApplicationBuilder builder, string name, int length) =>
        builder.AddParameter(name, new GenerateParameterDefault { MinLength = length, Special = false }, secret: true, persist: true);

    /// <summary>
    /// Adds signing key <paramref name="index"/> of the service's bus key ring (<c>Bus:Signing:Keys:N</c>), bound to the
    /// senders it may sign for (docs/PROTOCOL.md §5a). A service signs with its own key (<c>active</c>) and holds the
    /// keys of the senders it reads only to verify them (<c>verify-only</c>).
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithBusKey(this IResourceBuilder<ProjectResource> service, int index,
        string id, IResourceBuilder<ParameterResource> secret, string senders, bool verifyOnly = false)
    {
        var prefix = $"Bus__Signing__Keys__{index}__";
        return service
            .WithEnvironment(prefix + "Id", id)
            .WithEnvironment(prefix + "Secret", secret)
            .WithEnvironment(prefix + "Senders", senders)
            .WithEnvironment(prefix + "State", verifyOnly ? "verify-only" : "active");
    }
}
