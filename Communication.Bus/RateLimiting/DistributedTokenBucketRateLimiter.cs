using System.Threading.RateLimiting;

namespace Communication.Bus.RateLimiting;

/// <summary>
/// A <see cref="RateLimiter"/> over one distributed token bucket, so that ASP.NET Core's rate
/// limiting middleware (or any <see cref="RateLimiter"/> consumer) draws from the bucket shared by
/// all replicas.
/// </summary>
/// <remarks>
/// <para><b>AcquireAsync</b> asks Redis and, when the bucket is momentarily empty, waits for
/// refills up to <see cref="DistributedRateLimiterOptions.MaxWait"/> (at most
/// <see cref="DistributedRateLimiterOptions.QueueLimit"/> permits wait at once). A failed lease
/// carries <see cref="MetadataName.RetryAfter"/>, <see cref="MetadataName.ReasonPhrase"/> and
/// <see cref="DistributedRateLimitMetadata.Decision"/>.</para>
/// <para><b>AttemptAcquire</b> cannot block on Redis and must not grant tokens that Redis did not
/// grant (that would break the limit shared by the replicas), so it never grants: it returns a
/// failed lease whose reason says to use <c>AcquireAsync</c>, with a
/// <see cref="MetadataName.RetryAfter"/> when the last Redis answer showed the bucket empty until
/// a known time. ASP.NET Core's middleware calls <c>AttemptAcquire</c> first and then
/// <c>AcquireAsync</c> when that fails, so it works as expected. These leases are not counted in
/// the statistics.</para>
/// <para>Statistics are this process's view: <c>CurrentAvailablePermits</c> is the remaining
/// count from the last Redis answer (other replicas may have used tokens since).</para>
/// </remarks>
public sealed class DistributedTokenBucketRateLimiter : RateLimiter
{
    private readonly IDistributedTokenBucket _tokenBucket;
    private readonly DistributedRateLimiterOptions _options;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _disposed = new();
    private long _lastRemaining;
    private long _emptyUntil;
    private long _lastActivity;
    private long _queued;
    private long _successful;
    private long _failed;

    /// <summary>Creates the adapter.</summary>
    /// <param name="tokenBucket">The distributed token bucket (usually the registered singleton).</param>
    /// <param name="bucket">The bucket name.</param>
    /// <param name="rule">The bucket's rule; its capacity is the largest permit count.</param>
    /// <param name="options">How to wait; default: never wait.</param>
    /// <param name="timeProvider">The clock for idle time and the last known empty time. Default <see cref="TimeProvider.System"/>.</param>
    public DistributedTokenBucketRateLimiter(
        IDistributedTokenBucket tokenBucket,
        string bucket,
        TokenBucketRule rule,
        DistributedRateLimiterOptions? options = null,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(tokenBucket);
        ArgumentException.ThrowIfNullOrEmpty(bucket);
        ArgumentNullException.ThrowIfNull(rule);
        rule.Validate(0);
        options ??= new DistributedRateLimiterOptions();
        options.Validate();

        _tokenBucket = tokenBucket;
        Bucket = bucket;
        Rule = rule;
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _lastRemaining = rule.Capacity;
        _lastActivity = _time.GetTimestamp();
    }

    /// <summary>The bucket this limiter draws from.</summary>
    public string Bucket { get; }

    /// <summary>The rule applied on every call.</summary>
    public TokenBucketRule Rule { get; }

    /// <summary>
    /// How long the limiter has had nothing to do (no call in progress), so that a
    /// <see cref="PartitionedRateLimiter{TResource}"/> can drop it; <see langword="null"/> while busy.
    /// </summary>
    public override TimeSpan? IdleDuration =>
        Interlocked.Read(ref _queued) > 0 ? null : _time.GetElapsedTime(Interlocked.Read(ref _lastActivity));

    /// <inheritdoc />
    public override RateLimiterStatistics? GetStatistics()
    {
        ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
        return new RateLimiterStatistics
        {
            CurrentAvailablePermits = Interlocked.Read(ref _lastRemaining),
            CurrentQueuedCount = Interlocked.Read(ref _queued),
            TotalSuccessfulLeases = Interlocked.Read(ref _successful),
            TotalFailedLeases = Interlocked.Read(ref _failed),
        };
    }

    /// <summary>Never grants (see the remarks): returns a failed lease, with a retry-after when the bucket is known to be empty.</summary>
    /// <param name="permitCount">The permits asked for, from 0 to the capacity.</param>
    /// <returns>A failed lease.</returns>
    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
        ValidatePermits(permitCount);
        var emptyFor = _time.GetElapsedTime(_time.GetTimestamp(), Interlocked.Read(ref _emptyUntil));
        return DistributedRateLimitLease.NotDecidedSynchronously(emptyFor > TimeSpan.Zero ? emptyFor : null);
    }

    /// <summary>Asks Redis, waiting for refills up to <see cref="DistributedRateLimiterOptions.MaxWait"/>.</summary>
    /// <param name="permitCount">The permits asked for, from 0 (a peek) to the capacity.</param>
    /// <param name="cancellationToken">Cancels the wait; then <see cref="OperationCanceledException"/> is thrown.</param>
    /// <returns>The lease.</returns>
    protected override async ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
        ValidatePermits(permitCount);

        var maxWait = _options.MaxWait;
        var queued = Interlocked.Add(ref _queued, permitCount);
        if (maxWait != TimeSpan.Zero && queued > _options.QueueLimit)
        {
            maxWait = TimeSpan.Zero;
        }

        RateLimitDecision decision;
        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposed.Token);
            decision = await _tokenBucket.AcquireAsync(Bucket, Rule, permitCount, maxWait, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_disposed.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return DistributedRateLimitLease.Disposed();
        }
        finally
        {
            Interlocked.Add(ref _queued, -permitCount);
            Interlocked.Exchange(ref _lastActivity, _time.GetTimestamp());
        }

        Interlocked.Exchange(ref _lastRemaining, decision.Remaining);
        if (permitCount > 0)
        {
            Interlocked.Increment(ref decision.Allowed ? ref _successful : ref _failed);
        }

        if (!decision.Allowed)
        {
            Interlocked.Exchange(ref _emptyUntil, _time.GetTimestamp() + (long)(decision.RetryAfter.TotalSeconds * _time.TimestampFrequency));
        }

        return DistributedRateLimitLease.From(decision);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed.IsCancellationRequested)
        {
            _disposed.Cancel();
        }

        base.Dispose(disposing);
    }

    /// <inheritdoc />
    protected override ValueTask DisposeAsyncCore()
    {
        Dispose(true);
        return default;
    }

    private void ValidatePermits(int permitCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(permitCount);
        if (permitCount > Rule.Capacity)
        {
            throw new ArgumentOutOfRangeException(nameof(permitCount), permitCount,
                $"{permitCount} permits exceed the bucket's capacity of {Rule.Capacity}.");
        }
    }
}
