using System.ComponentModel.DataAnnotations;
using Ai.Gateway.Model;

namespace Ai.Gateway.Policy;

/// <summary>How every model call is governed (configuration section <c>Gateway:Policy</c>).</summary>
public sealed class GatewayPolicyOptions
{
    public const string SectionName = "Gateway:Policy";

    /// <summary>How long a call may wait for its model's rate limit before falling back (or answering 429).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan RateLimitWait { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Where the models' daily quotas reset at midnight (Gemini: Pacific time).</summary>
    [Required]
    public string DailyQuotaTimeZone { get; set; } = "America/Los_Angeles";

    /// <summary>Retries of one model for transient failures (network, 5xx, per-minute 429, timeouts).</summary>
    [Range(0, 10)]
    public int MaxRetries { get; set; } = 2;

    /// <summary>First retry delay; doubles with jitter. A provider's RetryInfo / Retry-After wins.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>A provider asking to wait longer than this is not retried: the call falls back instead.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// One provider call (one attempt) may take this long; for a stream, the open and its first update.
    /// Three attempts of one model (two retries) fit in <see cref="TotalTimeout"/> with time left for a fallback.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:30:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// A stream that has started may go this long without an update; then it ends with an error event
    /// (its first tokens reached the caller, so no fallback).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:30:00")]
    public TimeSpan StreamIdleTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A whole request (every model, retry and tool round) may take this long.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// A read or write of the shared response cache may take this long; a slower (or failed) one is skipped and the model
    /// answers, so a sick Redis never fails or stalls a request.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:10")]
    public TimeSpan CacheTimeout { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Failure ratio over <see cref="BreakerSamplingDuration"/> that opens a model's circuit.</summary>
    [Range(0.01, 1.0)]
    public double BreakerFailureRatio { get; set; } = 0.5;

    [Range(2, 1000)]
    public int BreakerMinimumThroughput { get; set; } = 6;

    /// <summary>The window the breaker counts failures in: at least twice <see cref="AttemptTimeout"/>, so timeouts can open it.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "02:00:00")]
    public TimeSpan BreakerSamplingDuration { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long an open circuit skips its model before letting one trial call through.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "01:00:00")]
    public TimeSpan BreakerBreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Send a prompt that a model's safety filter blocked on to the next model of its fallback chain. Off by
    /// default: a prompt one provider refused is not quietly shown to another; the caller gets the block.
    /// </summary>
    public bool FallbackOnSafetyBlock { get; set; }

    /// <summary>Model ↔ tool round trips allowed in one generation.</summary>
    [Range(1, 50)]
    public int MaxToolIterations { get; set; } = 8;

    /// <summary>Requests of one batch handled at once.</summary>
    [Range(1, 64)]
    public int BatchConcurrency { get; set; } = 4;

    [Range(1, 1000)]
    public int MaxBatchSize { get; set; } = 100;

    /// <summary>Record prompts and completions in traces and logs. Off by default: they may hold personal data.</summary>
    public bool CaptureContent { get; set; }
}

/// <summary>How route hints pick a model (configuration section <c>Gateway:Routing</c>).</summary>
public sealed class RoutingOptions
{
    public const string SectionName = "Gateway:Routing";

    /// <summary>Task types that need a particular tier, e.g. <c>code-generation → Pro</c>, <c>classification → Fast</c>.</summary>
    public Dictionary<string, ModelTier> TaskTypes { get; set; } = new(StringComparer.OrdinalIgnoreCase)
    {
        ["code-generation"] = ModelTier.Pro,
        ["code-review"] = ModelTier.Pro,
        ["architecture"] = ModelTier.Pro,
        ["reasoning"] = ModelTier.Pro,
        ["classification"] = ModelTier.Fast,
        ["extraction"] = ModelTier.Flash,
        ["summarization"] = ModelTier.Flash,
        ["chat"] = ModelTier.Flash,
    };

    /// <summary>The model that serves each tier; unset: the first catalog model of that tier.</summary>
    public Dictionary<ModelTier, string> Tiers { get; set; } = [];
}
