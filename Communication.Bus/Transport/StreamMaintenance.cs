using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Communication.Bus;

/// <summary>
/// The bus's periodic housekeeping of the streams it publishes to or reads from: trims what every consumer group has
/// acknowledged (<see cref="Scripts.Trim"/>) and applies the hard caps, counting, logging and reporting (health
/// Degraded) anything a cap had to drop; removes the idle consumers without pending entries of the groups it reads
/// (<see cref="Scripts.RemoveIdleConsumers"/>). Every replica does it; the script is idempotent and cheap
/// (<c>XINFO GROUPS</c> plus one <c>XPENDING</c> summary per group with pending entries).
/// </summary>
internal sealed class StreamMaintenance : IAsyncDisposable
{
    /// <summary>How long a drop keeps the health check Degraded.</summary>
    internal static readonly TimeSpan DropReportWindow = TimeSpan.FromMinutes(15);

    private readonly RedisMessageBus _bus;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, byte> _topics = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Topic, string Group, string Consumer), byte> _groups = new();
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private int _started;
    private DropReport? _lastDrop;

    public StreamMaintenance(RedisMessageBus bus, ILogger logger)
    {
        _bus = bus;
        _logger = logger;
    }

    /// <summary>The most recent drop by a cap, or <see langword="null"/>.</summary>
    public DropReport? LastDrop => Volatile.Read(ref _lastDrop);

    /// <summary>Adds a topic to the maintained ones; starts the loop on the first.</summary>
    public void Track(string topic)
    {
        if (_topics.TryAdd(topic, 0) && Interlocked.Exchange(ref _started, 1) == 0)
        {
            _loop = Task.Run(RunAsync);
        }
    }

    /// <summary>Adds a consumer group this bus reads (its idle, empty consumers are removed), and its topic.</summary>
    public void Track(string topic, string group, string consumer)
    {
        _groups.TryAdd((topic, group, consumer), 0);
        Track(topic);
    }

    /// <summary>One pass over every tracked topic (the loop's tick; also called by tests).</summary>
    public async Task RunOnceAsync(CancellationToken cancellationToken = default)
    {
        foreach (var topic in _topics.Keys)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                await TrimAsync(topic).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RedisException or ObjectDisposedException)
            {
                Log.MaintenanceFailed(_logger, ex, topic);
            }
        }

        foreach (var (topic, group, consumer) in _groups.Keys)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                await RemoveIdleConsumersAsync(topic, group, consumer).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RedisException or ObjectDisposedException)
            {
                Log.MaintenanceFailed(_logger, ex, topic);
            }
        }
    }

    private async Task RemoveIdleConsumersAsync(string topic, string group, string consumer)
    {
        var removed = (RedisResult[])(await _bus.Database.ScriptEvaluateAsync(
            Scripts.RemoveIdleConsumers,
            [BusProtocol.StreamKey(topic)],
            [group, (long)_bus.Settings.DeadConsumerIdleTime.TotalMilliseconds, consumer]).ConfigureAwait(false))!;
        foreach (var name in removed)
        {
            Log.ConsumerRemoved(_logger, topic, group, name.ToString(), _bus.Settings.DeadConsumerIdleTime);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        using var timer = new PeriodicTimer(_bus.Settings.TrimInterval, RedisMessageBus.LoopClock);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                await RunOnceAsync(_stop.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    private async Task TrimAsync(string topic)
    {
        var settings = _bus.Settings;
        var result = (RedisResult[])(await _bus.Database.ScriptEvaluateAsync(
            Scripts.Trim,
            [BusProtocol.StreamKey(topic), BusProtocol.DeadLetterStreamKey(topic)],
            [settings.StreamMaxLength, settings.DeadLetterMaxLength]).ConfigureAwait(false))!;
        var (trimmed, dropped, deadLettersDropped) = ((long)result[0], (long)result[1], (long)result[2]);
        var destination = new KeyValuePair<string, object?>(BusTags.Destination, BusTags.TopicTemplate(topic));
        if (trimmed > 0)
        {
            _bus.Metrics.Trimmed.Add(trimmed, destination);
        }

        if (dropped > 0)
        {
            Report(topic, BusProtocol.StreamKey(topic), settings.StreamMaxLength, dropped, "topic", destination);
        }

        if (deadLettersDropped > 0)
        {
            Report(topic, BusProtocol.DeadLetterStreamKey(topic), settings.DeadLetterMaxLength, deadLettersDropped, "dead-letter", destination);
        }
    }

    private void Report(string topic, string stream, long cap, long count, string kind, KeyValuePair<string, object?> destination)
    {
        _bus.Metrics.Dropped.Add(count, destination, new KeyValuePair<string, object?>(BusTags.StreamKind, kind));
        Log.CapDropped(_logger, stream, cap, count);
        Volatile.Write(ref _lastDrop, new DropReport(topic, stream, count, RedisMessageBus.LoopClock.GetUtcNow()));
    }

    /// <summary>What a cap dropped, and when.</summary>
    internal sealed record DropReport(string Topic, string Stream, long Count, DateTimeOffset At);
}
