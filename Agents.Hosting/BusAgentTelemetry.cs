using System.Diagnostics;

namespace Agents.Hosting;

/// <summary>The telemetry names of the library (add <see cref="SourceName"/> to tracing to see its spans).</summary>
public static class BusAgentTelemetry
{
    /// <summary>The ActivitySource: one <c>invoke_agent &lt;id&gt;</c> span per task, a child of the bus's <c>process</c> span.</summary>
    public const string SourceName = "Agents.Hosting";

    internal static readonly ActivitySource Source = new(SourceName);
}

/// <summary>
/// Keys of <see cref="Microsoft.Agents.AI.AgentResponse.AdditionalProperties"/> (or of the underlying
/// <see cref="Microsoft.Extensions.AI.ChatResponse.AdditionalProperties"/>) that an agent may set to report what its
/// answer cost; they become the TASK_RESULT's <c>metadata</c>.
/// </summary>
public static class BusAgentResponseProperties
{
    /// <summary>A <see cref="decimal"/> (or number): the cost of the answer in US dollars.</summary>
    public const string CostUsd = "agentteam.costUsd";

    /// <summary>An <see cref="IReadOnlyList{T}"/> of strings: models tried before the one that answered.</summary>
    public const string Fallbacks = "agentteam.fallbacks";
}
