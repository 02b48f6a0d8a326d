using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;

namespace Ai.Gateway.Usage;

/// <summary>
/// Writes the counted usage to Redis every <see cref="UsageOptions.FlushInterval"/>, in the background.
/// A batch that fails stays in memory and is written again, with the same batch id (so a write that
/// did reach Redis is not counted twice), until Redis takes it; counts made meanwhile wait for the next
/// batch. Failures are counted (<c>ai_gateway.usage.write_failures</c>) and logged once per
/// <see cref="UsageOptions.FailureLogInterval"/>. What is still unwritten when the process stops is
/// tried once more at shutdown and otherwise lost (logged).
/// </summary>
public sealed partial class UsageWriter : BackgroundService
{
    public const string MeterName = "Ai.Gateway.Usage";
    public const string WriteFailuresName = "ai_gateway.usage.write_failures";
    public const string PendingName = "ai_gateway.usage.pending";

    private readonly UsageRecorder _recorder;
    private readonly UsageStore _store;
    private readonly UsageOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<UsageWriter> _logger;
    private readonly Counter<long> _writeFailures;
    // Not disposed: a flush abandoned at shutdown may still finish and release it afterwards.
    private readonly SemaphoreSlim _flushing = new(1, 1);
    private Batch? _unwritten;
    private bool _failing;
    private long _lastFailureLog;
    private int _failuresSinceLog;

    private sealed record Batch(string Id, IReadOnlyDictionary<UsageCounter, long> Counts);

    public UsageWriter(UsageRecorder recorder, UsageStore store, IOptions<UsageOptions> options, TimeProvider time, IMeterFactory meters,
        ILogger<UsageWriter> logger)
    {
        _recorder = recorder;
        _store = store;
        _options = options.Value;
        _time = time;
        _logger = logger;
        var meter = meters.Create(MeterName);
        _writeFailures = meter.CreateCounter<long>(WriteFailuresName, "{write}", "Usage writes to Redis that failed (kept and written again later).");
        meter.CreateObservableGauge(PendingName, () => recorder.Pending + (_unwritten?.Counts.Count ?? 0), "{counter}",
            "Usage counters counted but not yet written to Redis.");
    }

    /// <summary>Writes what was counted so far (and any batch still unwritten). Never throws for a failed write.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        await _flushing.WaitAsync(cancellationToken);
        try
        {
            // A failed batch goes again as it was; only then do newer counts form the next one.
            for (var i = 0; i < 2; i++)
            {
                if (_unwritten is null)
                {
                    var counts = _recorder.Take();
                    if (counts.Count == 0)
                    {
                        return;
                    }

                    _unwritten = new Batch(Guid.NewGuid().ToString("N"), counts);
                }

                try
                {
                    await _store.WriteAsync(_unwritten.Id, _unwritten.Counts);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Any failure, not only RedisException: while Redis is paused or the connection is torn down,
                    // StackExchange.Redis may also throw InvalidOperationException. Accounting never fails its caller.
                    Failed(ex);
                    return;
                }

                _unwritten = null;
                if (_failing)
                {
                    _failing = false;
                    LogWritesResumed(_logger);
                }
            }
        }
        finally
        {
            _flushing.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.FlushInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            // The last chance for what Redis did not take; the host's shutdown timeout bounds it.
            await FlushAsync(cancellationToken).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }

        var lost = _recorder.Pending + (_unwritten?.Counts.Count ?? 0);
        if (lost > 0)
        {
            LogLostAtShutdown(_logger, lost);
        }
    }

    private void Failed(Exception exception)
    {
        _writeFailures.Add(1);
        _failuresSinceLog++;
        if (!_failing || _time.GetElapsedTime(_lastFailureLog) >= _options.FailureLogInterval)
        {
            LogWritesFailing(_logger, _failuresSinceLog, _recorder.Pending + (_unwritten?.Counts.Count ?? 0), exception.GetType().Name, exception.Message);
            _lastFailureLog = _time.GetTimestamp();
            _failuresSinceLog = 0;
        }

        _failing = true;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Usage accounting cannot write to Redis ({Failures} failed writes since the last report; {Pending} counters kept to write later): {ErrorType}: {Error}")]
    private static partial void LogWritesFailing(ILogger logger, int failures, int pending, string errorType, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Usage accounting writes to Redis again; the kept counts are written.")]
    private static partial void LogWritesResumed(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Counters} usage counters could not be written before shutdown and are lost.")]
    private static partial void LogLostAtShutdown(ILogger logger, int counters);
}
