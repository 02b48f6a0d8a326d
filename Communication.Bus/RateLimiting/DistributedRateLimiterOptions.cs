namespace Communication.Bus.RateLimiting;

/// <summary>
/// How the <see cref="System.Threading.RateLimiting.RateLimiter"/> adapters wait for tokens.
/// </summary>
public sealed class DistributedRateLimiterOptions
{
    /// <summary>
    /// How long <c>AcquireAsync</c> may wait for a momentarily empty bucket before it returns a
    /// failed lease (with <c>RetryAfter</c> metadata). Default <see cref="TimeSpan.Zero"/>: decide
    /// at once, which suits HTTP endpoints that answer 429 with <c>Retry-After</c>.
    /// </summary>
    public TimeSpan MaxWait { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// The most permits that may wait at once (per limiter). A request beyond it is decided at
    /// once, without waiting. Default 1000.
    /// </summary>
    public int QueueLimit { get; set; } = 1000;

    internal void Validate()
    {
        if (MaxWait < TimeSpan.Zero && MaxWait != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxWait), MaxWait, "The wait must be zero, positive or infinite.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(QueueLimit, nameof(QueueLimit));
    }
}
