using Microsoft.Extensions.Time.Testing;

namespace Communication.Bus.Tests.RateLimiting;

/// <summary>
/// A fake clock that shows who is asleep on it: each timer created (a <c>Task.Delay</c> on this clock) counts as
/// a sleeper until it fires or is disposed, so a test waits for "the caller is now waiting" instead of sleeping.
/// </summary>
public sealed class SleepWatchingClock(DateTimeOffset start) : FakeTimeProvider(start)
{
    private readonly Lock _gate = new();
    private readonly List<TimeSpan> _sleeps = [];
    private int _asleep;

    /// <summary>Timers created and neither fired nor disposed.</summary>
    public int Asleep => Volatile.Read(ref _asleep);

    /// <summary>The due time of every timer created, in order.</summary>
    public IReadOnlyList<TimeSpan> Sleeps
    {
        get
        {
            lock (_gate)
            {
                return [.. _sleeps];
            }
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        lock (_gate)
        {
            _sleeps.Add(dueTime);
        }

        var sleeper = new Sleeper(this);
        Interlocked.Increment(ref _asleep);
        sleeper.Timer = base.CreateTimer(s =>
        {
            sleeper.Wake();
            callback(s);
        }, state, dueTime, period);
        return sleeper;
    }

    private sealed class Sleeper(SleepWatchingClock clock) : ITimer
    {
        private int _awake;

        public ITimer Timer { get; set; } = null!;

        public void Wake()
        {
            if (Interlocked.Exchange(ref _awake, 1) == 0)
            {
                Interlocked.Decrement(ref clock._asleep);
            }
        }

        public bool Change(TimeSpan dueTime, TimeSpan period) => Timer.Change(dueTime, period);

        public void Dispose()
        {
            Wake();
            Timer.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            Wake();
            return Timer.DisposeAsync();
        }
    }
}
