using Microsoft.Extensions.Logging;

namespace Communication.Bus.RateLimiting;

/// <summary>Source-generated log messages of the distributed token bucket.</summary>
internal static partial class RateLimitingLog
{
    [LoggerMessage(EventId = 3100, Level = LogLevel.Warning,
        Message = "Token-bucket call to Redis failed for bucket '{Bucket}'; the {Policy} policy decides")]
    public static partial void RedisCallFailed(ILogger logger, string bucket, RateLimitFailurePolicy policy, Exception exception);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Error,
        Message = "Token-bucket circuit breaker opened for {BreakDuration}: Redis is not called until then and the {Policy} policy decides")]
    public static partial void CircuitOpened(ILogger logger, TimeSpan breakDuration, RateLimitFailurePolicy policy, Exception? exception);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Information,
        Message = "Token-bucket circuit breaker half-open: probing Redis")]
    public static partial void CircuitHalfOpened(ILogger logger);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Information,
        Message = "Token-bucket circuit breaker closed: Redis answers again")]
    public static partial void CircuitClosed(ILogger logger);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Debug,
        Message = "Script cache of Redis did not hold the token-bucket script (NOSCRIPT); sent it with EVAL")]
    public static partial void ScriptReloaded(ILogger logger);
}
