using System.Text.Json.Serialization;

namespace Orchestration.Client;

/// <summary>What an agent sends to register (or update) itself: <c>POST /api/agents</c>.</summary>
public sealed record AgentRegistration
{
    /// <summary>The agent's id (unique).</summary>
    public required string Id { get; init; }

    /// <summary>A display name.</summary>
    public required string Name { get; init; }

    /// <summary>What the agent can do; steps may name a capability instead of an agent.</summary>
    public required IReadOnlyList<string> Capabilities { get; init; }

    /// <summary>The bus topic the agent consumes; the service defaults it to <c>agent.&lt;id&gt;</c>.</summary>
    public string? Topic { get; init; }

    /// <summary>
    /// The bus name (<c>from</c>) its TASK_RESULTs come from; the service defaults it to the agent id. An outside agent
    /// sends the name its signing key is bound to (e.g. <c>outside.my-agent</c>, docs/RUNBOOK.md "Signing identities").
    /// </summary>
    public string? Sender { get; init; }

    /// <summary>Free-form string metadata.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>Without a heartbeat for this long the agent shows as <c>inactive</c>; the service's default when null.</summary>
    public int? HeartbeatTtlSeconds { get; init; }

    /// <summary>The declared status: <c>active</c> (default), <c>busy</c> or <c>offline</c>.</summary>
    public string? Status { get; init; }
}

/// <summary>A registered agent as orchestration-api shows it.</summary>
public sealed record AgentInfo
{
    /// <summary>The agent's id.</summary>
    public required string Id { get; init; }

    /// <summary>The display name.</summary>
    public string Name { get; init; } = "";

    /// <summary>What the agent can do.</summary>
    public IReadOnlyList<string> Capabilities { get; init; } = [];

    /// <summary>The bus topic it consumes.</summary>
    public string Topic { get; init; } = "";

    /// <summary>The bus name whose TASK_RESULTs may complete its attempts.</summary>
    public string Sender { get; init; } = "";

    /// <summary>Free-form metadata (the gateway's hosted agents say <c>host</c> and <c>kind</c>).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>The heartbeat time-to-live in seconds.</summary>
    public int HeartbeatTtlSeconds { get; init; }

    /// <summary><c>active</c>, <c>busy</c>, <c>offline</c> or <c>inactive</c> (no heartbeat within the TTL); see <see cref="AgentStatuses"/>.</summary>
    public string Status { get; init; } = "";

    /// <summary>When it first registered.</summary>
    public DateTimeOffset RegisteredAt { get; init; }

    /// <summary>Its last heartbeat (or registration).</summary>
    public DateTimeOffset LastHeartbeatAt { get; init; }

    /// <summary>Fields this client does not know yet (newer service versions).</summary>
    [JsonExtensionData]
    public Dictionary<string, System.Text.Json.JsonElement>? Extra { get; init; }
}

/// <summary>The agent statuses orchestration-api reports.</summary>
public static class AgentStatuses
{
    /// <summary>Available: declared active with a fresh heartbeat.</summary>
    public const string Active = "active";

    /// <summary>Declared busy.</summary>
    public const string Busy = "busy";

    /// <summary>Declared offline.</summary>
    public const string Offline = "offline";

    /// <summary>No heartbeat within the agent's TTL.</summary>
    public const string Inactive = "inactive";
}
