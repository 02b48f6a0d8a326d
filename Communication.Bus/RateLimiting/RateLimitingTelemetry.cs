using System.Diagnostics.Metrics;

namespace Communication.Bus.RateLimiting;

/// <summary>The telemetry names the distributed token bucket owns.</summary>
public static class RateLimitingTelemetry
{
    /// <summary>The name of the <see cref="Meter"/> (shared by every component of the bus library).</summary>
    public const string MeterName = "Communication.Bus";

    /// <summary>
    /// Counter of decisions (peeks excluded), tagged <see cref="ResultTag"/> (<c>allowed</c> or
    /// <c>denied</c>), <see cref="SourceTag"/> (<c>redis</c> or <c>fallback</c>) and, when denied,
    /// <see cref="ReasonTag"/> (<c>bucket_empty</c>, <c>daily_quota</c> or <c>fail_closed</c>).
    /// </summary>
    public const string DecisionsInstrument = "bus.ratelimit.decisions";

    /// <summary>Counter of decisions made by the local limiter because Redis could not be asked (fail open).</summary>
    public const string FailOpenInstrument = "bus.ratelimit.fail_open";

    /// <summary>Counter of calls denied because Redis could not be asked (fail closed).</summary>
    public const string FailClosedInstrument = "bus.ratelimit.fail_closed";

    /// <summary>
    /// Counter of failed Redis script calls (errors and timeouts; calls skipped by an open circuit
    /// breaker are not counted), tagged <c>error.type</c>.
    /// </summary>
    public const string RedisErrorsInstrument = "bus.ratelimit.redis_errors";

    /// <summary>The decision tag: <c>allowed</c> or <c>denied</c>.</summary>
    public const string ResultTag = "bus.ratelimit.result";

    /// <summary>Where the decision came from: <c>redis</c> or <c>fallback</c>.</summary>
    public const string SourceTag = "bus.ratelimit.source";

    /// <summary>Why a call was denied: <c>bucket_empty</c>, <c>daily_quota</c> or <c>fail_closed</c>.</summary>
    public const string ReasonTag = "bus.ratelimit.reason";
}

/// <summary>The instruments, created from an <see cref="IMeterFactory"/> or a meter of their own.</summary>
internal sealed class RateLimitingMetrics : IDisposable
{
    private static readonly KeyValuePair<string, object?> Allowed = new(RateLimitingTelemetry.ResultTag, "allowed");
    private static readonly KeyValuePair<string, object?> Denied = new(RateLimitingTelemetry.ResultTag, "denied");
    private static readonly KeyValuePair<string, object?> FromRedis = new(RateLimitingTelemetry.SourceTag, "redis");
    private static readonly KeyValuePair<string, object?> FromFallback = new(RateLimitingTelemetry.SourceTag, "fallback");

    private readonly Meter? _ownedMeter;
    private readonly Counter<long> _decisions;
    private readonly Counter<long> _failOpen;
    private readonly Counter<long> _failClosed;
    private readonly Counter<long> _redisErrors;

    public RateLimitingMetrics(IMeterFactory? meterFactory)
    {
        Meter meter;
        if (meterFactory is null)
        {
            meter = _ownedMeter = new Meter(RateLimitingTelemetry.MeterName);
        }
        else
        {
            meter = meterFactory.Create(RateLimitingTelemetry.MeterName);
        }

        _decisions = meter.CreateCounter<long>(RateLimitingTelemetry.DecisionsInstrument, "{decision}",
            "Token-bucket decisions, by result and source.");
        _failOpen = meter.CreateCounter<long>(RateLimitingTelemetry.FailOpenInstrument, "{decision}",
            "Decisions made by the local limiter because Redis could not be asked.");
        _failClosed = meter.CreateCounter<long>(RateLimitingTelemetry.FailClosedInstrument, "{decision}",
            "Calls denied because Redis could not be asked.");
        _redisErrors = meter.CreateCounter<long>(RateLimitingTelemetry.RedisErrorsInstrument, "{error}",
            "Failed token-bucket script calls.");
    }

    public void RecordDecision(in RateLimitDecision decision, string? reason)
    {
        if (!_decisions.Enabled)
        {
            return;
        }

        var result = decision.Allowed ? Allowed : Denied;
        var source = decision.FromFallback ? FromFallback : FromRedis;
        if (reason is null)
        {
            _decisions.Add(1, result, source);
        }
        else
        {
            _decisions.Add(1, result, source, new KeyValuePair<string, object?>(RateLimitingTelemetry.ReasonTag, reason));
        }
    }

    public void RecordFailOpen() => _failOpen.Add(1);

    public void RecordFailClosed() => _failClosed.Add(1);

    public void RecordRedisError(Exception exception) =>
        _redisErrors.Add(1, new KeyValuePair<string, object?>("error.type", exception.GetType().FullName));

    public void Dispose() => _ownedMeter?.Dispose();
}
