namespace Ai.Gateway.Providers;

/// <summary>
/// The request timeout of one model call, linked to the caller's token. Restart it before each
/// stream read so the limit bounds silence, not the length of a healthy stream. Tells a timeout
/// apart from the caller's own cancellation, which must propagate unchanged.
/// </summary>
internal sealed class CallDeadline : IDisposable
{
    private readonly TimeSpan _timeout;
    private readonly CancellationTokenSource _timer;
    private readonly CancellationTokenSource _linked;

    public CallDeadline(TimeSpan timeout, TimeProvider timeProvider, CancellationToken callerToken)
    {
        _timeout = timeout;
        _timer = new CancellationTokenSource(timeout, timeProvider);
        _linked = CancellationTokenSource.CreateLinkedTokenSource(callerToken, _timer.Token);
        CallerToken = callerToken;
    }

    public CancellationToken Token => _linked.Token;

    public CancellationToken CallerToken { get; }

    public TimeSpan Timeout => _timeout;

    public void Restart()
    {
        if (!_timer.IsCancellationRequested)
        {
            _timer.CancelAfter(_timeout);
        }
    }

    public void Dispose()
    {
        _linked.Dispose();
        _timer.Dispose();
    }
}
