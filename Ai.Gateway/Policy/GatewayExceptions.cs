using Ai.Gateway.Providers;
using Communication.Bus.RateLimiting;

namespace Ai.Gateway.Policy;

/// <summary>A model's shared rate limit (or daily quota) had no token within the allowed wait.</summary>
public sealed class ModelRateLimitedException(string model, RateLimitDecision decision)
    : Exception($"Model '{model}' is over its rate limit{(decision.DailyQuotaExhausted ? " (daily quota used up)" : "")}.")
{
    public string Model { get; } = model;

    public RateLimitDecision Decision { get; } = decision;
}

/// <summary>Every model of the fallback chain failed, was skipped, or was out of budget.</summary>
public sealed class AllModelsFailedException(IReadOnlyList<AttemptRecord> attempts, Exception? last)
    : Exception($"No model could answer: {string.Join("; ", attempts.Select(a => $"{a.Model} {a.Outcome}{(a.Error is null ? "" : ": " + a.Error)}"))}", last)
{
    public IReadOnlyList<AttemptRecord> Attempts { get; } = attempts;

    /// <summary>True when every model was refused by a rate limit or quota (answer 429, not 502).</summary>
    public bool AllRateLimited => Attempts.Count > 0 && Attempts.All(a => a.Outcome == AttemptRecord.RateLimited
        || a.Kind is nameof(ModelFailureKind.RateLimited) or nameof(ModelFailureKind.QuotaExhausted));

    /// <summary>The shortest wait after which some model of the chain may accept a call.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>The bucket state of the primary model, for RateLimit-* headers.</summary>
    public RateLimitDecision? PrimaryLimit { get; init; }

    public bool ContentBlocked => InnerException is ModelProviderException { Kind: ModelFailureKind.ContentBlocked };
}
