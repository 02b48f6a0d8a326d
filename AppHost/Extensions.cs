using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AppHost;

internal static class Extensions
{
    public const string RedisName = "redis";

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

        var mode = RedisModeSelector.Choose(
            RedisModeSelector.Parse(config["Redis:Mode"]),
            builder.ExecutionContext.IsPublishMode,
            environment);

        return mode switch
        {
            RedisMode.Container => builder.AddRedis(RedisName),
            RedisMode.ConnectionString => builder.AddConnectionString(RedisName),
            _ => builder.AddRedisServer(
                RedisName,
                environment.FindRedisServer() ?? throw new InvalidOperationException(RedisModeSelector.InstallAdvice),
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

    /// <summary>A secret the AppHost generates once and keeps in the user secrets store for local runs.</summary>
    public static IResourceBuilder<ParameterResource> AddGeneratedSecret(this IDistributedApplicationBuilder builder, string name, int length) =>
        builder.AddParameter(name, new GenerateParameterDefault { MinLength = length, Special = false }, secret: true, persist: true);
}
