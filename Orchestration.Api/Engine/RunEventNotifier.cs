using System.Collections.Concurrent;
using StackExchange.Redis;

namespace Orchestration.Api.Engine;

/// <summary>
/// Wakes local waiters (run event streams, <c>?waitMs</c> starts) when any replica stores events
/// of a run: every commit publishes the run id on one Redis channel.
/// </summary>
public sealed class RunEventNotifier(IConnectionMultiplexer redis, TimeProvider time) : IAsyncDisposable
{
    private readonly TimeProvider _time = time;
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<TaskCompletionSource, byte>> _waiters = new(StringComparer.Ordinal);
    private readonly Lock _sets = new();
    private readonly SemaphoreSlim _subscribe = new(1, 1);
    private ChannelMessageQueue? _queue;

    /// <summary>
    /// Arms a signal for the run's next events. Arm before reading the events, then wait on the
    /// signal if nothing new was read: no event can slip between the read and the wait.
    /// </summary>
    public async Task<RunSignal> ArmAsync(string runId)
    {
        await EnsureSubscribedAsync();
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_sets)
        {
            _waiters.GetOrAdd(runId, _ => new()).TryAdd(waiter, 0);
        }

        return new RunSignal(this, runId, waiter);
    }

    public sealed class RunSignal(RunEventNotifier owner, string runId, TaskCompletionSource waiter) : IDisposable
    {
        /// <summary>Completes when the run has new events, or after <paramref name="timeout"/>.</summary>
        public async Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
        {
            try
            {
                await waiter.Task.WaitAsync(timeout, owner._time, cancellationToken);
            }
            catch (TimeoutException)
            {
            }
        }

        public void Dispose()
        {
            lock (owner._sets)
            {
                if (owner._waiters.TryGetValue(runId, out var set) && set.TryRemove(waiter, out _) && set.IsEmpty)
                {
                    owner._waiters.TryRemove(runId, out _);
                }
            }
        }
    }

    private async Task EnsureSubscribedAsync()
    {
        if (_queue is not null)
        {
            return;
        }

        await _subscribe.WaitAsync();
        try
        {
            if (_queue is null)
            {
                var queue = await redis.GetSubscriber().SubscribeAsync(RunStore.EventsChannel);
                queue.OnMessage(message => Notify((string)message.Message!));
                _queue = queue;
            }
        }
        finally
        {
            _subscribe.Release();
        }
    }

    private void Notify(string runId)
    {
        if (_waiters.TryGetValue(runId, out var waiters))
        {
            foreach (var waiter in waiters.Keys)
            {
                waiter.TrySetResult();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_queue is not null)
        {
            await _queue.UnsubscribeAsync();
        }

        _subscribe.Dispose();
    }
}
