namespace Communication.Bus.RateLimiting;

/// <summary>
/// The parameters of one distributed token bucket. They travel with every call (nothing is
/// configured on the Redis side), so a bucket can be re-tuned on the fly: the next call simply
/// uses the new numbers against the stored state.
/// </summary>
/// <param name="Capacity">
/// The burst size: the most tokens the bucket holds, and so the most a single call may cost.
/// Must be at least 1.
/// </param>
/// <param name="RefillPerSecond">
/// Tokens added per second (fractional rates are fine, e.g. <c>0.25</c> for 15 per minute).
/// Must be greater than 0.
/// </param>
/// <remarks>
/// A provider limit such as "15 requests per minute, 1 500 per day, reset at midnight Pacific"
/// is <c>TokenBucketRule.PerMinute(15) with { DailyQuota = 1500, DailyQuotaTimeZone =
/// "America/Los_Angeles" }</c>.
/// </remarks>
public sealed record TokenBucketRule(long Capacity, double RefillPerSecond)
{
    /// <summary>The time zone identifier meaning UTC, the default of <see cref="DailyQuotaTimeZone"/>.</summary>
    public const string UtcTimeZone = "UTC";

    /// <summary>
    /// An optional number of tokens allowed per calendar day, counted atomically in the same
    /// script as the bucket. <see langword="null"/> (the default) means no daily quota.
    /// </summary>
    public long? DailyQuota { get; init; }

    /// <summary>
    /// The time zone whose midnight starts a new daily quota window: an IANA identifier such as
    /// <c>America/Los_Angeles</c> (Gemini's daily quotas reset at midnight Pacific time) or a
    /// Windows identifier. Default <see cref="UtcTimeZone"/>. Days are calendar days of that zone,
    /// so a day is 23 or 25 hours long across daylight-saving changes.
    /// </summary>
    public string DailyQuotaTimeZone { get; init; } = UtcTimeZone;

    /// <summary>
    /// A rule for "<paramref name="requestsPerMinute"/> per minute": a burst of that many tokens,
    /// refilled at <c>requestsPerMinute / 60</c> per second.
    /// </summary>
    /// <param name="requestsPerMinute">The limit per minute, at least 1.</param>
    /// <returns>The rule, without a daily quota.</returns>
    public static TokenBucketRule PerMinute(long requestsPerMinute) => new(requestsPerMinute, requestsPerMinute / 60d);

    /// <summary>Checks the rule and a call's cost; throws when they cannot work together.</summary>
    /// <param name="cost">The number of tokens a call asks for.</param>
    /// <exception cref="ArgumentOutOfRangeException">A number is out of range, or the cost exceeds the capacity.</exception>
    /// <exception cref="ArgumentException">The time zone is empty.</exception>
    internal void Validate(int cost)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Capacity, 1, nameof(Capacity));
        if (!(RefillPerSecond > 0) || double.IsInfinity(RefillPerSecond))
        {
            throw new ArgumentOutOfRangeException(nameof(RefillPerSecond), RefillPerSecond, "The refill rate must be a finite number greater than 0.");
        }

        if (DailyQuota is { } quota)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(quota, 1, nameof(DailyQuota));
        }

        ArgumentException.ThrowIfNullOrWhiteSpace(DailyQuotaTimeZone, nameof(DailyQuotaTimeZone));
        ArgumentOutOfRangeException.ThrowIfNegative(cost);
        if (cost > Capacity)
        {
            throw new ArgumentOutOfRangeException(nameof(cost), cost,
                $"A cost of {cost} can never be granted by a bucket whose capacity is {Capacity}.");
        }
    }
}
