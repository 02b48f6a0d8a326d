namespace Communication.Bus.RateLimiting;

/// <summary>
/// A token bucket (with an optional daily quota) held in Redis, so that every replica of a
/// service draws from the same bucket.
/// </summary>
public interface IDistributedTokenBucket
{
    /// <summary>
    /// Takes <paramref name="cost"/> tokens from <paramref name="bucket"/> if it holds them (and
    /// today's quota allows), in one atomic Redis script call. Never waits.
    /// </summary>
    /// <param name="bucket">
    /// The bucket name, e.g. a model id or <c>model:tenant</c>. Must not contain <c>{</c> or <c>}</c>.
    /// </param>
    /// <param name="rule">Capacity, refill rate and optional daily quota, applied on this call.</param>
    /// <param name="cost">
    /// Tokens to take, from 0 to <see cref="TokenBucketRule.Capacity"/>. A cost of 0 is a peek:
    /// it reports the state without consuming or writing anything.
    /// </param>
    /// <param name="cancellationToken">Cancels the wait for Redis; the script may still have run.</param>
    /// <returns>The decision; see <see cref="RateLimitDecision.FromFallback"/> for Redis outages.</returns>
    /// <exception cref="ArgumentException">The bucket name or the rule is invalid, or the cost exceeds the capacity.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    ValueTask<RateLimitDecision> TryAcquireAsync(string bucket, TokenBucketRule rule, int cost = 1, CancellationToken cancellationToken = default);

    /// <summary>
    /// Like <see cref="TryAcquireAsync"/>, but when the bucket is momentarily empty waits for the
    /// returned retry-after and tries again, as long as the next try still fits within
    /// <paramref name="maxWait"/>. Returns the last denial as soon as waiting cannot help: the
    /// daily quota is exhausted, or the retry-after reaches past the budget. Never waits past the
    /// budget.
    /// </summary>
    /// <param name="bucket">The bucket name (see <see cref="TryAcquireAsync"/>).</param>
    /// <param name="rule">The rule applied on each try.</param>
    /// <param name="cost">Tokens to take, from 1 to the capacity (0 peeks once, without waiting).</param>
    /// <param name="maxWait">The longest total wait; <see cref="TimeSpan.Zero"/> tries once.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The granted decision, or the last denial.</returns>
    /// <exception cref="ArgumentException">The arguments are invalid.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    ValueTask<RateLimitDecision> AcquireAsync(string bucket, TokenBucketRule rule, int cost, TimeSpan maxWait, CancellationToken cancellationToken = default);
}
