using StackExchange.Redis;

namespace Communication.Bus;

/// <summary>
/// Coalesces a subscription's acknowledgements: one <c>XACK</c> is in flight at a time; the ids that arrive meanwhile
/// are sent together in the next one (one command with many ids under load, no added latency when idle).
/// </summary>
/// <param name="acknowledge">Sends one <c>XACK</c> with the given ids.</param>
internal sealed class AckBatcher(Func<RedisValue[], Task> acknowledge)
{
    private readonly Lock _lock = new();
    private List<RedisValue> _pending = [];
    private TaskCompletionSource? _batch;
    private bool _sending;

    /// <summary>
    /// Acknowledges an entry: at once when no <c>XACK</c> is in flight, else in the next one. Completes when the entry
    /// is acknowledged; fails with the error of the <c>XACK</c> that carried it.
    /// </summary>
    public Task AcknowledgeAsync(RedisValue entryId)
    {
        Task task;
        lock (_lock)
        {
            _pending.Add(entryId);
            task = (_batch ??= new TaskCompletionSource()).Task;
            if (_sending)
            {
                return task;
            }

            _sending = true;
        }

        _ = FlushAsync();
        return task;
    }

    private async Task FlushAsync()
    {
        while (true)
        {
            List<RedisValue> ids;
            TaskCompletionSource batch;
            lock (_lock)
            {
                if (_pending.Count == 0)
                {
                    _sending = false;
                    return;
                }

                ids = _pending;
                batch = _batch!;
                _pending = [];
                _batch = null;
            }

            try
            {
                await acknowledge([.. ids]).ConfigureAwait(false);
                batch.SetResult();
            }
            catch (Exception ex)
            {
                batch.SetException(ex);
            }
        }
    }
}
