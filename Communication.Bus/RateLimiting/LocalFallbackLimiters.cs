using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace Communication.Bus.RateLimiting;

/// <summary>
/// The in-memory limiters used while Redis cannot be asked (fail open): one
/// <see cref="TokenBucketRateLimiter"/> per bucket and rule, created on first use and disposed
/// after <see cref="IdleLifetime"/> without use. Per process, so N replicas together allow up to
/// N times the rule; they start full and do not count daily quotas.
/// </summary>
internal sealed class LocalFallbackLimiters : IDisposable
{
    /// <summary>How long an unused limiter is kept.</summary>
    public static readonly TimeSpan IdleLifetime = TimeSpan.FromMinutes(5);

    private static readonly TimeSpan MaxReplenishmentPeriod = TimeSpan.FromDays(30);
    private readonly ConcurrentDictionary<Key, Entry> _limiters = new();
    private readonly TimeProvider _time;
    private long _lastSweep;
    private bool _disposed;

    public LocalFallbackLimiters(TimeProvider time)
    {
        _time = time;
        _lastSweep = time.GetTimestamp();
    }

    /// <summary>The number of limiters currently held (for tests).</summary>
    public int Count => _limiters.Count;

    /// <summary>Takes <paramref name="cost"/> permits (0 = peek) from the bucket's local limiter.</summary>
    public RateLimitDecision Decide(string bucket, TokenBucketRule rule, int cost)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        SweepIdle();
        var key = new Key(bucket, rule.Capacity, rule.RefillPerSecond);
        while (true)
        {
            var entry = _limiters.GetOrAdd(key, static k => new Entry(Create(k)));
            Volatile.Write(ref entry.LastUsed, _time.GetTimestamp());
            try
            {
                using var lease = entry.Limiter.AttemptAcquire(cost);
                return ToDecision(lease, entry.Limiter.GetStatistics()?.CurrentAvailablePermits ?? 0, rule, cost);
            }
            catch (ObjectDisposedException) when (!_disposed)
            {
                // Swept as idle between the lookup and the call: take a fresh one.
            }
        }
    }

    private static RateLimitDecision ToDecision(RateLimitLease lease, long available, TokenBucketRule rule, int cost)
    {
        var missing = Math.Max(cost, 1) - available;
        var retryAfter = TimeSpan.Zero;
        if (!lease.IsAcquired)
        {
            retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var metadata) && metadata > TimeSpan.Zero
                ? metadata
                : TimeSpan.FromMilliseconds(Math.Max(1, Math.Ceiling(missing * 1000 / rule.RefillPerSecond)));
        }

        return new RateLimitDecision
        {
            Allowed = lease.IsAcquired,
            Remaining = available,
            RetryAfter = retryAfter,
            ResetAfter = TimeSpan.FromMilliseconds(Math.Ceiling((rule.Capacity - available) * 1000 / rule.RefillPerSecond)),
            FromFallback = true,
        };
    }

    /// <summary>
    /// The options mirroring a rule: <c>k</c> tokens every <c>k / rate</c>
    /// seconds, with <c>k</c> chosen so that the period is at least 100 ms.
    /// </summary>
    internal static TokenBucketRateLimiterOptions OptionsFor(long capacity, double refillPerSecond)
    {
        var tokensPerPeriod = (int)Math.Clamp(Math.Ceiling(refillPerSecond / 10), 1, int.MaxValue);
        var period = TimeSpan.FromSeconds(tokensPerPeriod / refillPerSecond);
        return new TokenBucketRateLimiterOptions
        {
            TokenLimit = (int)Math.Min(capacity, int.MaxValue),
            TokensPerPeriod = tokensPerPeriod,
            ReplenishmentPeriod = period > MaxReplenishmentPeriod ? MaxReplenishmentPeriod : period,
            QueueLimit = 0,
            AutoReplenishment = true,
        };
    }

    private static TokenBucketRateLimiter Create(Key key) => new(OptionsFor(key.Capacity, key.RefillPerSecond));

    private void SweepIdle()
    {
        var now = _time.GetTimestamp();
        var last = Volatile.Read(ref _lastSweep);
        if (_time.GetElapsedTime(last, now) < TimeSpan.FromMinutes(1) ||
            Interlocked.CompareExchange(ref _lastSweep, now, last) != last)
        {
            return;
        }

        foreach (var (key, entry) in _limiters)
        {
            if (_time.GetElapsedTime(Volatile.Read(ref entry.LastUsed), now) > IdleLifetime &&
                _limiters.TryRemove(new KeyValuePair<Key, Entry>(key, entry)))
            {
                entry.Limiter.Dispose();
            }
        }
    }

    public void Dispose()
    {
        _disposed = true;
        foreach (var entry in _limiters.Values)
        {
            entry.Limiter.Dispose();
        }

        _limiters.Clear();
    }

    private readonly record struct Key(string Bucket, long Capacity, double RefillPerSecond);

    private sealed class Entry(TokenBucketRateLimiter limiter)
    {
        public readonly TokenBucketRateLimiter Limiter = limiter;
        public long LastUsed;
    }
}
