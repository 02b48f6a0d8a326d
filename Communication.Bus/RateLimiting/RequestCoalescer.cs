using System.Collections.Concurrent;

namespace Communication.Bus.RateLimiting;

/// <summary>
/// Coalesces calls per key: the first call for an idle key is sent at once and alone; calls for
/// the same key that arrive while one is in flight wait for it and are then sent together, up to
/// <c>maxBatchSize</c> per send, until none are left. No latency without contention; under
/// contention one send serves many calls. Thread-safe.
/// </summary>
/// <remarks>
/// A queued call cancelled before its batch is sent is skipped; once sent, its outcome still
/// happens (a token bucket may still take its tokens) — the caller only stops waiting. A failed
/// batch fails every call in it. The leader's send observes the leader's token; batches observe
/// none (they serve several callers).
/// </remarks>
/// <typeparam name="TKey">What calls are coalesced by (e.g. bucket and rule).</typeparam>
/// <typeparam name="TRequest">One call's argument (e.g. its cost).</typeparam>
/// <typeparam name="TResult">One call's answer.</typeparam>
internal sealed class RequestCoalescer<TKey, TRequest, TResult>
    where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, Batch> _batches = new();
    private readonly int _maxBatchSize;
    private readonly Func<TKey, TRequest[], CancellationToken, ValueTask<TResult[]>> _send;

    /// <param name="maxBatchSize">The most calls sent together (≥ 1).</param>
    /// <param name="send">Sends requests for one key together; answers one result per request, in order.</param>
    public RequestCoalescer(int maxBatchSize, Func<TKey, TRequest[], CancellationToken, ValueTask<TResult[]>> send)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchSize, 1);
        ArgumentNullException.ThrowIfNull(send);
        _maxBatchSize = maxBatchSize;
        _send = send;
    }

    /// <summary>The keys with a call in flight or queued (for tests: an idle coalescer holds none).</summary>
    public int ActiveKeys => _batches.Count;

    /// <summary>Sends <paramref name="request"/> at once when its key is idle, else with the next batch.</summary>
    public ValueTask<TResult> SendAsync(TKey key, TRequest request, CancellationToken cancellationToken)
    {
        var batch = _batches.GetOrAdd(key, static _ => new Batch());
        Pending? queued = null;
        lock (batch)
        {
            if (batch.InFlight)
            {
                queued = new Pending(request);
                batch.Queue.Add(queued);
            }
            else
            {
                batch.InFlight = true;
            }
        }

        return queued is null ? LeadAsync(key, batch, request, cancellationToken) : queued.WaitAsync(cancellationToken);
    }

    /// <summary>The first call for an idle key goes at once; then it hands the key to the calls queued meanwhile.</summary>
    private async ValueTask<TResult> LeadAsync(TKey key, Batch batch, TRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return (await _send(key, [request], cancellationToken).ConfigureAwait(false))[0];
        }
        finally
        {
            if (TakeNext(key, batch) is { } next)
            {
                _ = PumpAsync(key, batch, next);
            }
        }
    }

    /// <summary>Sends the queued calls in batches until none are left.</summary>
    private async Task PumpAsync(TKey key, Batch batch, List<Pending> calls)
    {
        for (List<Pending>? next = calls; next is not null; next = TakeNext(key, batch))
        {
            next.RemoveAll(static call => call.Task.IsCompleted); // cancelled while queued
            if (next.Count == 0)
            {
                continue;
            }

            try
            {
                var requests = new TRequest[next.Count];
                for (var i = 0; i < requests.Length; i++)
                {
                    requests[i] = next[i].Request;
                }

                var results = await _send(key, requests, CancellationToken.None).ConfigureAwait(false);
                for (var i = 0; i < next.Count; i++)
                {
                    next[i].TrySetResult(results[i]);
                }
            }
            catch (Exception ex)
            {
                next.ForEach(call => call.TrySetException(ex));
            }
        }
    }

    /// <summary>Takes up to the batch size of queued calls, or marks the key idle.</summary>
    private List<Pending>? TakeNext(TKey key, Batch batch)
    {
        lock (batch)
        {
            if (batch.Queue.Count == 0)
            {
                batch.InFlight = false;
                _batches.TryRemove(new KeyValuePair<TKey, Batch>(key, batch));
                return null;
            }

            if (batch.Queue.Count <= _maxBatchSize)
            {
                var all = batch.Queue;
                batch.Queue = [];
                return all;
            }

            var first = batch.Queue.GetRange(0, _maxBatchSize);
            batch.Queue.RemoveRange(0, _maxBatchSize);
            return first;
        }
    }

    /// <summary>The calls for one key: whether one is on its way, and those waiting for it.</summary>
    private sealed class Batch
    {
        public bool InFlight;
        public List<Pending> Queue = [];
    }

    /// <summary>A call waiting for the next batch.</summary>
    private sealed class Pending(TRequest request) : TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public TRequest Request { get; } = request;

        public async ValueTask<TResult> WaitAsync(CancellationToken cancellationToken)
        {
            if (!cancellationToken.CanBeCanceled)
            {
                return await Task.ConfigureAwait(false);
            }

            await using var registration = cancellationToken.Register(
                static (state, token) => ((Pending)state!).TrySetCanceled(token), this).ConfigureAwait(false);
            return await Task.ConfigureAwait(false);
        }
    }
}
