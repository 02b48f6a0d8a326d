using System.Text.Json.Serialization;

namespace Orchestration.Api.Model;

/// <summary>What an agent sends to register (or update) itself.</summary>
public sealed record AgentRegistration
{
    public string Id { get; init; } = "";

    public string Name { get; init; } = "";

    public IReadOnlyList<string> Capabilities { get; init; } = [];

    /// <summary>The bus topic the agent consumes; default <c>agent.&lt;id&gt;</c>.</summary>
    public string? Topic { get; init; }

    /// <summary>
    /// The bus <c>from</c> name its TASK_RESULTs come from (default: the agent id). The orchestrator
    /// accepts a result of an attempt only from this sender; e.g. agents hosted by one service share its name.
    /// </summary>
    public string? Sender { get; init; }

    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>Without a heartbeat for this long, the agent shows as <c>inactive</c>. Default from configuration (30 s).</summary>
    public int? HeartbeatTtlSeconds { get; init; }

    /// <summary>The declared status: <c>active</c> (default), <c>busy</c> or <c>offline</c>.</summary>
    public string? Status { get; init; }
}

/// <summary>A heartbeat, optionally changing the declared status.</summary>
public sealed record AgentHeartbeat(string? Status);

/// <summary>A registered agent as the API shows it.</summary>
public sealed record Agent(
    string Id,
    string Name,
    IReadOnlyList<string> Capabilities,
    string Topic,
    IReadOnlyDictionary<string, string> Metadata,
    int HeartbeatTtlSeconds,
    string Status,
    DateTimeOffset RegisteredAt,
    DateTimeOffset LastHeartbeatAt,
    string Sender)
{
    /// <summary>Available = may take work now (declared active and heartbeat fresh).</summary>
    [JsonIgnore]
    public bool IsAvailable => Status == AgentStatuses.Active;
}

public static class AgentStatuses
{
    public const string Active = "active";
    public const string Busy = "busy";
    public const string Offline = "offline";

    /// <summary>Computed, never declared: no heartbeat within the agent's TTL.</summary>
    public const string Inactive = "inactive";

    public static readonly string[] Declarable = [Active, Busy, Offline];
    public static readonly string[] All = [Active, Busy, Offline, Inactive];
}
