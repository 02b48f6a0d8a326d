namespace Communication.Bus.RateLimiting;

/// <summary>Which clock the token-bucket script uses.</summary>
public enum TokenBucketTimeSource
{
    /// <summary>
    /// The Redis server clock (<c>TIME</c> inside the script): one clock for every replica, so
    /// client clock skew cannot add or lose tokens. The default.
    /// </summary>
    Server = 0,

    /// <summary>
    /// The caller's <see cref="TimeProvider"/>, passed to the script as an argument. For Redis
    /// offerings that forbid <c>TIME</c> in scripts (e.g. AWS ElastiCache Serverless). Replicas'
    /// clocks should be synchronised (NTP); the script never refills on a negative delta, so a
    /// clock that lags only delays refills.
    /// </summary>
    Client = 1,
}

/// <summary>What a token-bucket call decides when Redis cannot be asked.</summary>
public enum RateLimitFailurePolicy
{
    /// <summary>
    /// Decide locally with an in-memory <see cref="System.Threading.RateLimiting.TokenBucketRateLimiter"/>
    /// per bucket with the same rule (per replica, so the cluster-wide limit becomes limit × replicas
    /// while Redis is down; daily quotas are not counted). The default.
    /// </summary>
    FailOpen = 0,

    /// <summary>Deny every call until Redis answers again.</summary>
    FailClosed = 1,
}
