using Ai.Gateway.Model;
using Microsoft.Extensions.Options;

namespace Ai.Gateway.Policy;

/// <summary>Route hints of a request: what the task is and what matters most.</summary>
public sealed record RouteHints(string? TaskType = null, string? Complexity = null, string? Cost = null, string? Speed = null);

/// <summary>
/// Picks the model for a request as the earlier project did: an explicit model wins; otherwise
/// complex work → the pro tier, cost-sensitive → flash, speed-critical → fast, a known task type →
/// its tier, else the default model.
/// </summary>
public sealed class ModelRouter(ModelCatalog catalog, IOptions<RoutingOptions> routing)
{
    private static readonly string[] High = ["high", "complex", "hard", "critical"];
    private static readonly string[] Low = ["low", "sensitive", "cheap", "minimal"];
    private static readonly string[] Fast = ["fast", "high", "critical", "realtime", "low-latency"];

    public sealed record Decision(string Model, string Reason);

    public Decision Route(string? explicitModel, RouteHints? hints)
    {
        if (!string.IsNullOrEmpty(explicitModel))
        {
            return new Decision(explicitModel, "model named in the request");
        }

        if (hints is not null)
        {
            if (Is(hints.Complexity, High) && ModelFor(ModelTier.Pro) is { } pro)
            {
                return new Decision(pro, "complexity → pro tier");
            }

            if (Is(hints.Speed, Fast) && ModelFor(ModelTier.Fast) is { } fast)
            {
                return new Decision(fast, "speed-critical → fast tier");
            }

            if (Is(hints.Cost, Low) && ModelFor(ModelTier.Flash) is { } flash)
            {
                return new Decision(flash, "cost-sensitive → flash tier");
            }

            if (hints.TaskType is { } taskType && routing.Value.TaskTypes.TryGetValue(taskType, out var tier) && ModelFor(tier) is { } byTask)
            {
                return new Decision(byTask, $"task type '{taskType}' → {tier.ToString().ToLowerInvariant()} tier");
            }
        }

        return new Decision(catalog.DefaultModel, "default model");
    }

    private string? ModelFor(ModelTier tier) =>
        routing.Value.Tiers.TryGetValue(tier, out var configured)
            ? configured
            : catalog.Models.FirstOrDefault(m => m.Tier == tier && m.Kind == ModelKind.Chat)?.Id;

    private static bool Is(string? value, string[] words) =>
        value is not null && words.Contains(value.Trim(), StringComparer.OrdinalIgnoreCase);
}
