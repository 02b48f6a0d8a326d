namespace Microsoft.Extensions.Hosting;

/// <summary>
/// A time limit on a <see cref="TimeProvider"/>'s clock, linked to a caller's token: <see cref="Token"/> is
/// cancelled when the caller's is, or when the limit passes. Tells the two apart (<see cref="HasExpired"/>),
/// so a timeout can be reported as one while the caller's own cancellation propagates unchanged.
/// The one way the apps bound work in time (issue 14): <c>CancelAfter</c> and <c>new CancellationTokenSource(TimeSpan)</c>
/// run on the machine's clock and are banned (BannedSymbols.txt), so a test's fake clock drives every deadline.
/// </summary>
public sealed class Deadline : IDisposable
{
    private readonly CancellationTokenSource _timer;
    private readonly CancellationTokenSource _linked;

    internal Deadline(TimeProvider time, TimeSpan limit, CancellationToken callerToken)
    {
        Limit = limit;
        CallerToken = callerToken;
        _timer = new CancellationTokenSource(limit, time);
        _linked = CancellationTokenSource.CreateLinkedTokenSource(callerToken, _timer.Token);
    }

    /// <summary>Cancelled when the caller cancels or the limit passes.</summary>
    public CancellationToken Token => _linked.Token;

    /// <summary>The caller's own token.</summary>
    public CancellationToken CallerToken { get; }

    /// <summary>How long the work may take (from the start or the last <see cref="Restart"/>).</summary>
    public TimeSpan Limit { get; }

    /// <summary>True when the limit passed and the caller did not cancel.</summary>
    public bool HasExpired => _timer.IsCancellationRequested && !CallerToken.IsCancellationRequested;

    /// <summary>Starts the limit again from now (a bound on silence, e.g. between stream reads). No effect once expired.</summary>
    public void Restart()
    {
        if (!_timer.IsCancellationRequested && Limit != Timeout.InfiniteTimeSpan)
        {
            // The source was created on the TimeProvider, so CancelAfter re-arms that provider's timer, not a real one.
#pragma warning disable RS0030
            _timer.CancelAfter(Limit);
#pragma warning restore RS0030
        }
    }

    public void Dispose()
    {
        _linked.Dispose();
        _timer.Dispose();
    }
}

/// <summary>Deadlines on a <see cref="TimeProvider"/>.</summary>
public static class TimeProviderDeadlines
{
    /// <summary>Starts a deadline of <paramref name="limit"/> on this clock, linked to <paramref name="callerToken"/>.</summary>
    public static Deadline StartDeadline(this TimeProvider time, TimeSpan limit, CancellationToken callerToken = default)
    {
        ArgumentNullException.ThrowIfNull(time);
        return new Deadline(time, limit, callerToken);
    }
}
