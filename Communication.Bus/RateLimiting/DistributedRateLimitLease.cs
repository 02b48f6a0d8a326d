using System.Threading.RateLimiting;

namespace Communication.Bus.RateLimiting;

/// <summary>The metadata names the distributed rate-limiter leases carry besides the standard ones.</summary>
public static class DistributedRateLimitMetadata
{
    /// <summary>
    /// The full <see cref="RateLimitDecision"/> behind a lease (remaining tokens, daily quota, reset
    /// times), e.g. to write <c>RateLimit-*</c> headers in an <c>OnRejected</c> callback.
    /// Not present on leases from <c>AttemptAcquire</c>, which does not ask Redis.
    /// </summary>
    public static MetadataName<RateLimitDecision> Decision { get; } = MetadataName.Create<RateLimitDecision>("RATE_LIMIT_DECISION");
}

/// <summary>A lease carrying a token-bucket decision: <see cref="MetadataName.RetryAfter"/> and a reason when denied.</summary>
internal sealed class DistributedRateLimitLease : RateLimitLease
{
    internal const string AttemptAcquireReason =
        "A distributed token bucket cannot decide synchronously (it needs a Redis round trip): use AcquireAsync.";

    private readonly RateLimitDecision? _decision;
    private readonly bool _acquired;
    private readonly TimeSpan? _retryAfter;
    private readonly string? _reason;

    private DistributedRateLimitLease(bool acquired, RateLimitDecision? decision, TimeSpan? retryAfter, string? reason)
    {
        _acquired = acquired;
        _decision = decision;
        _retryAfter = retryAfter;
        _reason = reason;
    }

    public override bool IsAcquired => _acquired;

    public override IEnumerable<string> MetadataNames
    {
        get
        {
            if (_retryAfter is not null)
            {
                yield return MetadataName.RetryAfter.Name;
            }

            if (_reason is not null)
            {
                yield return MetadataName.ReasonPhrase.Name;
            }

            if (_decision is not null)
            {
                yield return DistributedRateLimitMetadata.Decision.Name;
            }
        }
    }

    /// <summary>A lease for a decision from the token bucket.</summary>
    public static DistributedRateLimitLease From(RateLimitDecision decision) =>
        decision.Allowed
            ? new(true, decision, null, null)
            : new(false, decision, decision.RetryAfter, ReasonFor(decision));

    /// <summary>The failed lease of a synchronous attempt, with a retry-after when the bucket is known to be empty.</summary>
    public static DistributedRateLimitLease NotDecidedSynchronously(TimeSpan? retryAfter) =>
        new(false, null, retryAfter, AttemptAcquireReason);

    /// <summary>The failed lease of a limiter disposed while the request waited.</summary>
    public static DistributedRateLimitLease Disposed() => new(false, null, null, "The rate limiter was disposed.");

    public override bool TryGetMetadata(string metadataName, out object? metadata)
    {
        if (_retryAfter is { } retryAfter && metadataName == MetadataName.RetryAfter.Name)
        {
            metadata = retryAfter;
            return true;
        }

        if (_reason is not null && metadataName == MetadataName.ReasonPhrase.Name)
        {
            metadata = _reason;
            return true;
        }

        if (_decision is { } decision && metadataName == DistributedRateLimitMetadata.Decision.Name)
        {
            metadata = decision;
            return true;
        }

        metadata = null;
        return false;
    }

    private static string ReasonFor(RateLimitDecision decision) => decision switch
    {
        { DailyQuotaExhausted: true } => "Daily quota exhausted.",
        { FromFallback: true } => "Token bucket empty or unavailable (decided without Redis by the failure policy).",
        _ => "Token bucket empty.",
    };
}
