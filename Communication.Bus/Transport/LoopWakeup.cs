using System.Diagnostics;

namespace Communication.Bus;

/// <summary>
/// How an idle consumer loop waits: until a wake-up poke on the topic's notify channel, or for its poll interval; after
/// a poke or a non-empty read it polls fast for a while (PROTOCOL.md §2). Timestamps on the machine's clock, like every
/// wait of the loop.
/// </summary>
internal sealed class LoopWakeup
{
    /// <summary>After a wake-up poke or a non-empty read, poll this often for <see cref="FastPollWindow"/>.</summary>
    private static readonly TimeSpan FastPollDelay = TimeSpan.FromMilliseconds(2);

    /// <summary>Longer than the publishers' poke coalescing window (<see cref="RedisMessageBus.NotifyCoalescingWindow"/>).</summary>
    private static readonly TimeSpan FastPollWindow = TimeSpan.FromMilliseconds(150);

    private static readonly TimeSpan MinimumWait = TimeSpan.FromMilliseconds(1);

    private readonly SemaphoreSlim _wake = new(0, 1);
    private long _fastPollUntil;

    /// <summary>Polls fast for the next <see cref="FastPollWindow"/> (after a non-empty read, or on start).</summary>
    public void PollFast() =>
        Volatile.Write(ref _fastPollUntil, Stopwatch.GetTimestamp() + (long)(FastPollWindow.TotalSeconds * Stopwatch.Frequency));

    /// <summary>A poke: polls fast, and ends the current wait.</summary>
    public void Wake()
    {
        PollFast();
        if (_wake.CurrentCount == 0)
        {
            try
            {
                _wake.Release();
            }
            catch (SemaphoreFullException)
            {
            }
        }
    }

    /// <summary>
    /// Waits up to <paramref name="wait"/> (at most <see cref="FastPollDelay"/> while polling fast, at least 1 ms), or
    /// until a poke.
    /// </summary>
    public Task WaitAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        if (Stopwatch.GetTimestamp() < Volatile.Read(ref _fastPollUntil) && FastPollDelay < wait)
        {
            wait = FastPollDelay;
        }

        return _wake.WaitAsync(wait > MinimumWait ? wait : MinimumWait, cancellationToken);
    }
}
