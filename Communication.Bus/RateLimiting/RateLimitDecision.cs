namespace Communication.Bus.RateLimiting;

/// <summary>The answer of one token-bucket call.</summary>
/// <remarks>
/// All durations come from millisecond values computed by the Lua script (or by the local
/// fallback limiter when <see cref="FromFallback"/> is <see langword="true"/>).
/// </remarks>
public readonly record struct RateLimitDecision
{
    /// <summary>
    /// Whether the tokens were granted (and consumed). For a peek (cost 0) nothing is consumed and
    /// this says whether a one-token call would be granted right now.
    /// </summary>
    public bool Allowed { get; init; }

    /// <summary>The whole tokens left in the bucket after this call.</summary>
    public long Remaining { get; init; }

    /// <summary>
    /// When <see cref="Allowed"/> is <see langword="false"/>: how long until the call could succeed
    /// (the refill time of the missing tokens, or the time until the daily window ends when
    /// <see cref="DailyQuotaExhausted"/>). <see cref="TimeSpan.Zero"/> when allowed.
    /// </summary>
    public TimeSpan RetryAfter { get; init; }

    /// <summary>How long until the bucket is full again (for <c>RateLimit-Reset</c> style headers).</summary>
    public TimeSpan ResetAfter { get; init; }

    /// <summary>
    /// The tokens left in today's quota, or <see langword="null"/> when the rule has no daily
    /// quota or the decision came from the fallback (which does not count days).
    /// </summary>
    public long? DailyRemaining { get; init; }

    /// <summary>How long until the current daily window ends, or <see langword="null"/> like <see cref="DailyRemaining"/>.</summary>
    public TimeSpan? DailyResetAfter { get; init; }

    /// <summary>
    /// <see langword="true"/> when the call was denied because today's quota is used up. Callers
    /// should fail over (e.g. to another model) rather than wait: the wait is until the next day.
    /// <see langword="false"/> for a momentarily empty bucket, which refills in <see cref="RetryAfter"/>.
    /// </summary>
    public bool DailyQuotaExhausted { get; init; }

    /// <summary>
    /// <see langword="true"/> when Redis could not be asked (error, timeout or open circuit breaker)
    /// and the decision was made by the configured <see cref="RateLimitFailurePolicy"/>: the local
    /// in-memory limiter (fail open) or a plain denial (fail closed).
    /// </summary>
    public bool FromFallback { get; init; }
}
