using Communication.Bus;
using Communication.Bus.Contracts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;
using TestSupport;

[assembly: AssemblyFixture(typeof(Orchestration.Client.Tests.ServicesFixture))]

namespace Orchestration.Client.Tests;

/// <summary>
/// The real services for the whole assembly: one redis-server, orchestration-api in-process on Kestrel, ai-gateway as
/// its own process (offline provider, no hosted agents), an echo agent on the real bus, and a host that registers the
/// typed clients the way an app does.
/// </summary>
public sealed class ServicesFixture : IAsyncLifetime
{
    public RedisServer Redis { get; private set; } = null!;

    public ServiceFactory<Program> Orchestration { get; private set; } = null!;

    public ServiceProcess Gateway { get; private set; } = null!;

    public Uri OrchestrationAddress { get; private set; } = null!;

    public IHost Host { get; private set; } = null!;

    public EchoAgent Echo { get; private set; } = null!;

    public OrchestrationClient Client => Host.Services.GetRequiredService<OrchestrationClient>();

    public GatewayClient GatewayClient => Host.Services.GetRequiredService<GatewayClient>();

    public async ValueTask InitializeAsync()
    {
        Redis = await RedisServer.StartAsync();
        Orchestration = new ServiceFactory<Program>(Redis.ConnectionString, new Dictionary<string, string?>
        {
            ["Orchestration:TimerPollInterval"] = "00:00:00.050",
        });
        using (var probe = Orchestration.CreateClient())
        {
            OrchestrationAddress = probe.BaseAddress!;
        }

        Gateway = await ServiceProcess.StartAsync("Ai.Gateway", Redis.ConnectionString, new Dictionary<string, string?>
        {
            ["HostedAgents:Enabled"] = "false",
        });

        Host = CreateHost(new Dictionary<string, string?>
        {
            ["Clients:orchestration-api:BaseAddress"] = OrchestrationAddress.ToString(),
            ["Clients:orchestration-api:ApiKey"] = TestSecrets.ApiKey,
            ["Clients:ai-gateway:BaseAddress"] = Gateway.BaseAddress.ToString(),
            ["Clients:ai-gateway:ApiKey"] = TestSecrets.ApiKey,
        });
        await Host.StartAsync();

        Echo = await EchoAgent.StartAsync(Redis.ConnectionString);
        await Client.RegisterAgentAsync(new AgentRegistration { Id = EchoAgent.Id, Name = "Echo", Capabilities = ["echo"], Topic = EchoAgent.Topic, HeartbeatTtlSeconds = 3600 });
    }

    /// <summary>A host that registers both typed clients from <paramref name="settings"/>, as an app would.</summary>
    public static IHost CreateHost(IDictionary<string, string?> settings)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        foreach (var (key, value) in settings)
        {
            builder.Configuration[key] = value;
        }

        builder.AddOrchestrationClient();
        builder.AddGatewayClient();
        return builder.Build();
    }

    public async ValueTask DisposeAsync()
    {
        if (Echo is not null)
        {
            await Echo.DisposeAsync();
        }

        Host?.Dispose();
        if (Gateway is not null)
        {
            await Gateway.DisposeAsync();
        }

        if (Orchestration is not null)
        {
            await Orchestration.DisposeAsync();
        }

        if (Redis is not null)
        {
            await Redis.DisposeAsync();
        }
    }
}

/// <summary>
/// An agent on the real bus that answers every task with <c>{ echo: input }</c> and made-up model usage, unless the
/// input says <c>{ "hold": true }</c>: then it never answers (a run stays RUNNING until cancelled).
/// </summary>
public sealed class EchoAgent : IAsyncDisposable
{
    public const string Id = "echo";
    public const string Topic = "agent.echo";

    private readonly ConnectionMultiplexer _redis;
    private readonly RedisMessageBus _bus;
    private IBusSubscription? _subscription;

    private EchoAgent(ConnectionMultiplexer redis, RedisMessageBus bus)
    {
        _redis = redis;
        _bus = bus;
    }

    public static async Task<EchoAgent> StartAsync(string redisConnectionString)
    {
        var settings = new CommunicationBusSettings { ServiceName = Id, ConsumerName = Id };
        settings.Signing.Keys.Add(new SigningKeySettings { Id = TestSecrets.SigningKeyId, Secret = TestSecrets.SigningSecret });
        var redis = await ConnectionMultiplexer.ConnectAsync(redisConnectionString);
        var agent = new EchoAgent(redis, new RedisMessageBus(redis, settings));
        agent._subscription = await agent._bus.SubscribeAsync(Topic, agent.HandleAsync, new SubscriptionOptions { Group = Id, Consumer = Id });
        return agent;
    }

    private async Task HandleAsync(BusMessage message, CancellationToken cancellationToken)
    {
        var task = message.GetPayload<AgentTask>(System.Text.Json.JsonSerializerOptions.Web);
        if (message.Type != MessageType.Task || task is null
            || (task.Input.ValueKind == System.Text.Json.JsonValueKind.Object && task.Input.TryGetProperty("hold", out _)))
        {
            return;
        }

        await _bus.ReplyAsync(message, new AgentTaskResult
        {
            RunId = task.RunId,
            StepId = task.StepId,
            Attempt = task.Attempt,
            Kind = task.Kind,
            Ok = true,
            Output = System.Text.Json.JsonSerializer.SerializeToElement(new { echo = task.Input }),
            AgentId = Id,
            Metadata = new AgentWorkMetadata { Model = "echo-model", InputTokens = 3, OutputTokens = 4, TotalTokens = 7, CostUsd = 0.0001m },
        }, cancellationToken: cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_subscription is not null)
        {
            await _subscription.DisposeAsync();
        }

        await _bus.DisposeAsync();
        await _redis.DisposeAsync();
    }
}
