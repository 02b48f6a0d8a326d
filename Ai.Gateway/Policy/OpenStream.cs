using Microsoft.Extensions.AI;

namespace Ai.Gateway.Policy;

/// <summary>
/// A model's stream with a cancellation source of its own: the attempt timeout cancels it until the first
/// update (see <see cref="GatewayChatClient"/>), then a timer on the <see cref="TimeProvider"/> cancels it
/// when no update comes within the idle timeout.
/// </summary>
internal sealed class OpenStream : IAsyncDisposable
{
    private readonly CancellationTokenSource _source;
    private readonly ITimer _idle;
    private readonly TimeSpan _idleTimeout;
    private IAsyncEnumerator<ChatResponseUpdate>? _updates;
    private volatile bool _idleExpired;

    public OpenStream(CancellationToken caller, TimeProvider time, TimeSpan idleTimeout)
    {
        _source = CancellationTokenSource.CreateLinkedTokenSource(caller);
        _idleTimeout = idleTimeout;
        _idle = time.CreateTimer(_ =>
        {
            _idleExpired = true;
            Cancel();
        }, null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public CancellationToken Token => _source.Token;

    /// <summary>True when the idle timer, not the caller or the attempt timeout, ended the stream.</summary>
    public bool IdleExpired => _idleExpired;

    public ChatResponseUpdate Current => _updates!.Current;

    public void Start(IAsyncEnumerable<ChatResponseUpdate> updates) => _updates = updates.GetAsyncEnumerator(_source.Token);

    public ValueTask<bool> MoveNextAsync() => _updates!.MoveNextAsync();

    public void ArmIdleTimer() => _idle.Change(_idleTimeout, Timeout.InfiniteTimeSpan);

    public void DisarmIdleTimer() => _idle.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);

    public void Cancel()
    {
        try
        {
            _source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The stream ended as the timer fired.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _idle.DisposeAsync();
        if (_updates is not null)
        {
            await _updates.DisposeAsync();
        }

        _source.Dispose();
    }
}
