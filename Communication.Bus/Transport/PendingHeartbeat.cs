using System.Collections.Concurrent;
using StackExchange.Redis;

namespace Communication.Bus;

/// <summary>
/// Keeps a consumer's in-flight entries its own: tracks their ids from read to acknowledgement and, every third of
/// the claim idle time, resets their idle time (<c>XCLAIM … JUSTID</c>) so no other consumer reclaims an entry whose
/// handler is still running (PROTOCOL.md §7).
/// </summary>
internal sealed class PendingHeartbeat
{
    private readonly IDatabase _db;
    private readonly RedisKey _stream;
    private readonly string _group;
    private readonly string _consumer;
    private readonly TimeSpan _claimIdleTime;
    private readonly Action<Exception> _onRedisError;
    private readonly ConcurrentDictionary<RedisValue, byte> _inFlight = new();
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    /// <param name="db">The database.</param>
    /// <param name="stream">The topic's stream.</param>
    /// <param name="group">The consumer group.</param>
    /// <param name="consumer">This consumer.</param>
    /// <param name="claimIdleTime">How long an entry may stay idle before others reclaim it.</param>
    /// <param name="onRedisError">Sees each failed heartbeat (the loop goes on).</param>
    public PendingHeartbeat(IDatabase db, RedisKey stream, string group, string consumer, TimeSpan claimIdleTime, Action<Exception> onRedisError)
    {
        _db = db;
        _stream = stream;
        _group = group;
        _consumer = consumer;
        _claimIdleTime = claimIdleTime;
        _onRedisError = onRedisError;
    }

    /// <summary>Starts keeping <paramref name="entryId"/> alive.</summary>
    public void Track(RedisValue entryId) => _inFlight[entryId] = 0;

    /// <summary>Stops keeping <paramref name="entryId"/> alive (acknowledged, dead-lettered, or left pending).</summary>
    public void Forget(RedisValue entryId) => _inFlight.TryRemove(entryId, out _);

    /// <summary>Whether <paramref name="entryId"/> is in flight here (a reclaim must not deliver it twice).</summary>
    public bool IsTracked(RedisValue entryId) => _inFlight.ContainsKey(entryId);

    /// <summary>Starts the heartbeats.</summary>
    public void Start() => _loop = Task.Run(RunAsync);

    /// <summary>Stops the heartbeats and waits for the loop to end.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        var interval = TimeSpan.FromTicks(Math.Max(_claimIdleTime.Ticks / 3, TimeSpan.FromMilliseconds(10).Ticks));
        var minIdle = (long)(interval.TotalMilliseconds / 2);
        var stop = _stop.Token;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, RedisMessageBus.LoopClock, stop).ConfigureAwait(false);

                // Snapshot first: an entry may finish between a check and the copy, and XCLAIM needs at least one id.
                RedisValue[] inFlight = [.. _inFlight.Keys];
                if (inFlight.Length > 0)
                {
                    await _db.StreamClaimIdsOnlyAsync(_stream, _group, _consumer, minIdle, inFlight).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is RedisException or ObjectDisposedException)
            {
                _onRedisError(ex);
            }
        }
    }
}
