using System.Threading.RateLimiting;

namespace Communication.Bus.RateLimiting;

/// <summary>A bucket name and its rule: the partition a resource maps to.</summary>
/// <param name="Bucket">The bucket name (e.g. <c>model:tenant</c>).</param>
/// <param name="Rule">The bucket's rule.</param>
public readonly record struct TokenBucketPartition(string Bucket, TokenBucketRule Rule);

/// <summary>
/// A <see cref="PartitionedRateLimiter{TResource}"/> that maps each resource (e.g. an
/// <c>HttpContext</c>) to a distributed token bucket, e.g. for
/// <c>RateLimiterOptions.GlobalLimiter</c>. Each partition is a
/// <see cref="DistributedTokenBucketRateLimiter"/> (same <c>AttemptAcquire</c>/<c>AcquireAsync</c>
/// semantics), created on first use and dropped after about ten idle seconds.
/// </summary>
/// <typeparam name="TResource">The resource type.</typeparam>
public sealed class DistributedPartitionedRateLimiter<TResource> : PartitionedRateLimiter<TResource>
{
    private readonly PartitionedRateLimiter<TResource> _inner;

    /// <summary>Creates the partitioned adapter.</summary>
    /// <param name="tokenBucket">The distributed token bucket.</param>
    /// <param name="partitioner">Maps a resource to its bucket and rule.</param>
    /// <param name="options">How each partition waits; default: never wait.</param>
    /// <param name="timeProvider">The clock of the partitions. Default <see cref="TimeProvider.System"/>.</param>
    public DistributedPartitionedRateLimiter(
        IDistributedTokenBucket tokenBucket,
        Func<TResource, TokenBucketPartition> partitioner,
        DistributedRateLimiterOptions? options = null,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(tokenBucket);
        ArgumentNullException.ThrowIfNull(partitioner);
        options?.Validate();
        _inner = PartitionedRateLimiter.Create<TResource, TokenBucketPartition>(resource =>
            RateLimitPartition.Get(partitioner(resource), partition =>
                new DistributedTokenBucketRateLimiter(tokenBucket, partition.Bucket, partition.Rule, options, timeProvider)));
    }

    /// <inheritdoc />
    public override RateLimiterStatistics? GetStatistics(TResource resource) => _inner.GetStatistics(resource);

    /// <inheritdoc />
    protected override RateLimitLease AttemptAcquireCore(TResource resource, int permitCount) => _inner.AttemptAcquire(resource, permitCount);

    /// <inheritdoc />
    protected override ValueTask<RateLimitLease> AcquireAsyncCore(TResource resource, int permitCount, CancellationToken cancellationToken) =>
        _inner.AcquireAsync(resource, permitCount, cancellationToken);

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <inheritdoc />
    protected override ValueTask DisposeAsyncCore() => _inner.DisposeAsync();
}
