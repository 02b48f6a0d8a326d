using System.ComponentModel.DataAnnotations;
using Ai.Gateway.Policy;

namespace Ai.Gateway.Agents;

/// <summary>LLM agents the gateway hosts (configuration section <c>HostedAgents</c>).</summary>
public sealed class HostedAgentsOptions
{
    public const string SectionName = "HostedAgents";

    public bool Enabled { get; set; } = true;

    /// <summary>The language of the agents' system prompts unless an agent says otherwise: en or ar.</summary>
    [Required, AllowedValues("en", "ar")]
    public string Language { get; set; } = "en";

    /// <summary>Where the agents register (service discovery resolves the AppHost's resource name).</summary>
    [Required]
    public Uri OrchestrationUrl { get; set; } = new("http://orchestration-api");

    /// <summary>The gateway's own API key for orchestration-api; without it the agents work but do not register.</summary>
    public string? ApiKey { get; set; }

    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long orchestration-api keeps an agent active without a heartbeat.</summary>
    [Range(5, 3600)]
    public int HeartbeatTtlSeconds { get; set; } = 30;

    /// <summary>Tasks one replica works on at once, per agent.</summary>
    [Range(1, 256)]
    public int Concurrency { get; set; } = 4;

    public Dictionary<string, HostedAgentDefinition> Agents { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>One hosted agent: who it is, what it can do, how it thinks, which tools it may use.</summary>
public sealed class HostedAgentDefinition
{
    [Required]
    public string Name { get; set; } = "";

    [MinLength(1)]
    public List<string> Capabilities { get; set; } = [];

    /// <summary>The system prompt per language (<c>en</c>, <c>ar</c>).</summary>
    public Dictionary<string, string> Prompts { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Overrides <see cref="HostedAgentsOptions.Language"/> for this agent.</summary>
    public string? Language { get; set; }

    /// <summary>How the gateway's router picks this agent's model (or name one in <see cref="Model"/>).</summary>
    public RouteHints? Route { get; set; }

    public string? Model { get; set; }

    /// <summary>Gateway tools the agent may call.</summary>
    public List<string> Tools { get; set; } = [];

    /// <summary>A JSON Schema (as JSON text) the agent's answer must match; its output is then the parsed JSON.</summary>
    public string? OutputSchema { get; set; }

    /// <summary>The bus topic the agent consumes; default <c>agent.&lt;id&gt;</c>.</summary>
    public string? Topic { get; set; }
}
