namespace Communication.Bus;

/// <summary>
/// A subscription's handler concurrency (<see cref="SubscriptionOptions.Concurrency"/> slots): the consumer loop takes
/// slots before it reads (one per entry it may read), and each entry returns its slot when its handler is done (or its
/// processing ends without one). Lock-free; a release after none was free wakes the waiting loop.
/// </summary>
/// <param name="count">The number of slots, all free.</param>
internal sealed class HandlerSlots(int count)
{
    private readonly SemaphoreSlim _freed = new(0, 1);
    private int _free = count;

    /// <summary>The free slots now.</summary>
    public int Free => Volatile.Read(ref _free);

    /// <summary>Takes up to <paramref name="max"/> free slots; 0 when none is free.</summary>
    public int Take(int max)
    {
        while (true)
        {
            var free = Volatile.Read(ref _free);
            if (free == 0)
            {
                return 0;
            }

            var take = Math.Min(free, max);
            if (Interlocked.CompareExchange(ref _free, free - take, free) == free)
            {
                return take;
            }
        }
    }

    /// <summary>Returns slots; wakes <see cref="WaitForReleaseAsync"/> when slots become free after none was.</summary>
    public void Release(int count)
    {
        if (Interlocked.Add(ref _free, count) == count && _freed.CurrentCount == 0)
        {
            try
            {
                _freed.Release();
            }
            catch (SemaphoreFullException)
            {
            }
        }
    }

    /// <summary>
    /// Waits until slots are released after none was free, or <paramref name="timeout"/> passes (on the machine's clock,
    /// like every wait of the consumer loop); <see langword="false"/> on timeout.
    /// </summary>
    public Task<bool> WaitForReleaseAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        _freed.WaitAsync(timeout, cancellationToken);
}
