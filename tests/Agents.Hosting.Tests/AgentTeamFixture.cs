using TestSupport;

[assembly: AssemblyFixture(typeof(Agents.Hosting.Tests.AgentTeamFixture))]

namespace Agents.Hosting.Tests;

/// <summary>
/// The real platform for the assembly: one redis-server and orchestration-api in-process on Kestrel, trusting the
/// outside agents' signing key for senders <c>outside.*</c> (verify-only) and an API key with the agent role, as the
/// AppHost does. <see cref="AgentSettings"/> are what an outside agent process needs to join it.
/// </summary>
public sealed class AgentTeamFixture : IAsyncLifetime
{
    public const string AgentKeySecret = "outside-agents-signing-secret-0123456789abcdef";
    public const string AgentApiKey = "outside-agent-api-key-0123456789";

    public RedisServer Redis { get; private set; } = null!;

    public ServiceFactory<Program> Orchestration { get; private set; } = null!;

    /// <summary>orchestration-api with the client key (client and admin).</summary>
    public HttpClient Api { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Redis = await RedisServer.StartAsync();
        Orchestration = new ServiceFactory<Program>(Redis.ConnectionString, new Dictionary<string, string?>
        {
            ["Orchestration:TimerPollInterval"] = "00:00:00.050",
            ["Bus:ServiceName"] = "Orchestration.Api",
            ["Bus:Signing:Keys:0:Senders"] = "Orchestration.Api",
            ["Bus:Signing:Keys:1:Id"] = "outside-agents",
            ["Bus:Signing:Keys:1:Secret"] = AgentKeySecret,
            ["Bus:Signing:Keys:1:Senders"] = "outside.*",
            ["Bus:Signing:Keys:1:State"] = "verify-only",
            ["Auth:ApiKeys:outside-agent"] = AgentApiKey,
            ["Auth:Roles:outside-agent"] = "agent",
        });
        Api = Orchestration.CreateAuthorizedClient();
    }

    /// <summary>The configuration of an outside agent with bus name <c>outside.&lt;agentId&gt;</c>.</summary>
    public Dictionary<string, string?> AgentSettings(string agentId) => new(StringComparer.OrdinalIgnoreCase)
    {
        ["ConnectionStrings:redis"] = Redis.ConnectionString,
        ["Bus:ServiceName"] = $"outside.{agentId}",
        ["Bus:Signing:Keys:0:Id"] = "outside-agents",
        ["Bus:Signing:Keys:0:Secret"] = AgentKeySecret,
        ["Bus:Signing:Keys:0:Senders"] = "outside.*",
        ["Bus:Signing:Keys:1:Id"] = TestSecrets.SigningKeyId,
        ["Bus:Signing:Keys:1:Secret"] = TestSecrets.SigningSecret,
        ["Bus:Signing:Keys:1:Senders"] = "Orchestration.Api",
        ["Bus:Signing:Keys:1:State"] = "verify-only",
        ["Clients:orchestration-api:BaseAddress"] = Api.BaseAddress!.ToString(),
        ["Clients:orchestration-api:ApiKey"] = AgentApiKey,
        [$"Agents:{agentId}:HeartbeatInterval"] = "00:00:01",
    };

    public async ValueTask DisposeAsync()
    {
        Api.Dispose();
        await Orchestration.DisposeAsync();
        await Redis.DisposeAsync();
    }
}
