using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Communication.Bus.RateLimiting;

/// <summary>
/// Options of the distributed token bucket, bound from the <c>Bus:RateLimiting</c> configuration
/// section and validated at start-up.
/// </summary>
public sealed class TokenBucketOptions
{
    /// <summary>The configuration section the options are bound from.</summary>
    public const string SectionName = "Bus:RateLimiting";

    /// <summary>
    /// The prefix of every bucket key. A bucket named <c>gemini-2.5-flash</c> lives in the key
    /// <c>{KeyPrefix}{gemini-2.5-flash}</c>, e.g. <c>ratelimit:{gemini-2.5-flash}</c>. Must not
    /// contain <c>{</c> or <c>}</c> (the braces around the bucket name are the cluster hash tag).
    /// Default <c>ratelimit:</c>.
    /// </summary>
    [Required]
    [RegularExpression("^[^{}]*$", ErrorMessage = "{0} must not contain '{{' or '}}' (the braces around a bucket name are its cluster hash tag).")]
    public string KeyPrefix { get; set; } = "ratelimit:";

    /// <summary>Which clock the script uses. Default <see cref="TokenBucketTimeSource.Server"/>.</summary>
    public TokenBucketTimeSource TimeSource { get; set; } = TokenBucketTimeSource.Server;

    /// <summary>What a call decides when Redis cannot be asked. Default <see cref="RateLimitFailurePolicy.FailOpen"/>.</summary>
    public RateLimitFailurePolicy FailurePolicy { get; set; } = RateLimitFailurePolicy.FailOpen;

    /// <summary>
    /// How long one script call may take before it counts as a Redis failure and the failure
    /// policy decides. <see cref="Timeout.InfiniteTimeSpan"/> disables this timeout (the Redis
    /// client's own timeouts still apply). Default 1 second.
    /// </summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The most calls for one bucket decided by one script call. Calls for a bucket that arrive
    /// while one is on its way to Redis wait for it and then go together, which divides the Redis
    /// work per decision under contention (an idle bucket's call still goes at once). 1 sends every
    /// call on its own. Default 64.
    /// </summary>
    [Range(1, 1000)]
    public int MaxBatchSize { get; set; } = 64;

    /// <summary>The circuit breaker that stops calling a Redis that keeps failing.</summary>
    [ValidateObjectMembers]
    public TokenBucketCircuitBreakerOptions CircuitBreaker { get; set; } = new();
}

/// <summary>
/// The circuit breaker in front of Redis (a Polly circuit breaker). While it is open, calls do not
/// touch Redis at all and the failure policy decides; after <see cref="BreakDuration"/> one call
/// probes Redis again.
/// </summary>
public sealed class TokenBucketCircuitBreakerOptions
{
    /// <summary>The share of failed calls within <see cref="SamplingDuration"/> that opens the breaker. Default 0.5.</summary>
    [Range(0.01, 1.0)]
    public double FailureRatio { get; set; } = 0.5;

    /// <summary>The fewest calls within <see cref="SamplingDuration"/> before the breaker may open. Default 5.</summary>
    [Range(2, int.MaxValue)]
    public int MinimumThroughput { get; set; } = 5;

    /// <summary>The window over which failures are counted. Default 10 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.5", "1.00:00:00")]
    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long the breaker stays open before probing Redis again. Default 5 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.5", "1.00:00:00")]
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(5);
}
