using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using StackExchange.Redis;

namespace Communication.Bus;

/// <summary>
/// One consumer loop: reads new entries with <c>XREADGROUP</c>, reclaims idle pending entries with <c>XAUTOCLAIM</c>,
/// admits them, runs the handler through Polly (retry + circuit breaker), acknowledges or dead-letters them, and stops
/// gracefully. Its parts: <see cref="EntryAdmission"/> (the decisions without I/O), <see cref="HandlerSlots"/>
/// (concurrency), <see cref="PendingHeartbeat"/> (in-flight entries kept from being reclaimed),
/// <see cref="AckBatcher"/> (coalesced <c>XACK</c>), <see cref="LoopWakeup"/> (pokes and polling) and
/// <see cref="BusActivities"/> (the process span).
/// </summary>
internal sealed class RedisSubscription : IBusSubscription
{
    private static readonly ResiliencePropertyKey<BusMessage> MessageKey = new("bus.message");
    private static readonly TimeSpan MaxErrorDelay = TimeSpan.FromSeconds(5);

    private readonly RedisMessageBus _bus;
    private readonly IDatabase _db;
    private readonly ILogger _logger;
    private readonly Func<BusMessage, CancellationToken, Task> _handler;
    private readonly SubscriptionOptions _options;
    private readonly RedisKey _stream;
    private readonly RedisKey _dlq;
    private readonly RedisChannel _notifyChannel;
    private readonly ResiliencePipeline _pipeline;
    private readonly ResiliencePipeline _loopPipeline;
    private readonly CircuitBreakerStateProvider _breaker = new();
    private readonly LoopWakeup _wakeup = new();
    private readonly CancellationTokenSource _stopReading = new();
    private readonly CancellationTokenSource _abortHandlers = new();
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly EntryAdmission _admission;
    private readonly HandlerSlots _slots;
    private readonly PendingHeartbeat _heartbeat;
    private readonly AckBatcher _acks;
    private readonly KeyValuePair<string, object?>[] _tags;
    private readonly int _batchSize;
    private readonly Action<RedisChannel, RedisValue> _onNotify;
    private Task _loop = Task.CompletedTask;
    private long _lastLoopTick = Stopwatch.GetTimestamp();
    private long _pausedUntil;
    private int _active;
    private volatile bool _stopping;
    private volatile bool _faulted;
    private volatile bool _recreateGroup;
    private int _disposed;

    public RedisSubscription(
        RedisMessageBus bus, string topic, string group, string consumer, Func<BusMessage, CancellationToken, Task> handler, SubscriptionOptions options)
    {
        _bus = bus;
        _db = bus.Database;
        _logger = bus.LoggerFactory.CreateLogger<RedisSubscription>();
        Topic = topic;
        Group = group;
        Consumer = consumer;
        _handler = handler;
        _options = options;
        _stream = BusProtocol.StreamKey(topic);
        _dlq = BusProtocol.DeadLetterStreamKey(topic);
        _notifyChannel = RedisChannel.Literal(BusProtocol.NotifyChannel(topic));
        _slots = new HandlerSlots(options.Concurrency);
        _batchSize = Math.Min(options.Concurrency, 100);
        _admission = new EntryAdmission(topic, group, options.MaxDeliveries, bus.Settings, bus.Limits, bus.KeyRing, bus.Clock);
        // Reply topics and their groups are per process: their metrics carry a template (spans keep the names).
        _tags = BusTags.IsReplyTopic(topic)
            ? [new(BusTags.Destination, BusTags.ReplyTemplate), new(BusTags.ConsumerGroup, BusTags.ReplyTemplate)]
            : [new(BusTags.Destination, topic), new(BusTags.ConsumerGroup, group)];
        _heartbeat = new PendingHeartbeat(_db, _stream, group, consumer, options.ClaimIdleTime, LastErrorIfRedis);
        _acks = new AckBatcher(ids => _db.StreamAcknowledgeAsync(_stream, Group, ids));
        _onNotify = (_, _) => _wakeup.Wake();
        _pipeline = BuildPipeline();
        _loopPipeline = BuildLoopPipeline();
    }

    public string Topic { get; }

    public string Group { get; }

    public string Consumer { get; }

    public Exception? LastError { get; private set; }

    /// <summary>A stop has ended reading and is waiting for in-flight handlers (tests observe it instead of sleeping).</summary>
    internal bool IsDraining { get; private set; }

    public bool IsCircuitOpen => _breaker.CircuitState is CircuitState.Open or CircuitState.Isolated;

    public async Task StartAsync()
    {
        await EnsureGroupAsync().ConfigureAwait(false);
        await _bus.Redis.GetSubscriber().SubscribeAsync(_notifyChannel, _onNotify).ConfigureAwait(false);

        // A publisher may have skipped its poke just before this group existed: start polling fast.
        _wakeup.PollFast();
        _loop = Task.Run(RunLoopAsync);
        _heartbeat.Start();
        Log.Subscribed(_logger, Topic, Group, Consumer);
    }

    /// <summary>Why the loop is degraded (failing and retrying with backoff), or <see langword="null"/>.</summary>
    public string? GetDegradation() => LastError is { } error && !_faulted
        ? $"the consumer loop of '{Topic}' (group '{Group}') is failing and retrying: {error.Message}"
        : null;

    /// <summary>A reason the loop is unhealthy (stopped or stalled), or <see langword="null"/>.</summary>
    public string? GetProblem()
    {
        if (_faulted)
        {
            return $"The consumer loop of '{Topic}' (group '{Group}') has stopped unexpectedly.";
        }

        var stall = TimeSpan.FromTicks(Math.Max(_options.PollInterval.Ticks * 5, TimeSpan.FromSeconds(30).Ticks));
        var since = Stopwatch.GetElapsedTime(Volatile.Read(ref _lastLoopTick));
        return since > stall ? $"The consumer loop of '{Topic}' (group '{Group}') has not run for {since}." : null;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stopping = true;
        await _stopReading.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        try
        {
            await _bus.Redis.GetSubscriber().UnsubscribeAsync(_notifyChannel, _onNotify).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or ObjectDisposedException)
        {
            // The connection is gone; nothing to unsubscribe from.
        }

        var remaining = 0;
        IsDraining = true;
        if (Volatile.Read(ref _active) > 0)
        {
            try
            {
                await _drained.Task.WaitAsync(_options.ShutdownTimeout, RedisMessageBus.LoopClock).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                remaining = Volatile.Read(ref _active);
                await _abortHandlers.CancelAsync().ConfigureAwait(false);
                try
                {
                    await _drained.Task.WaitAsync(TimeSpan.FromSeconds(5), RedisMessageBus.LoopClock).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    // Handlers that ignore cancellation stay pending and will be reclaimed by another consumer.
                }
            }
        }

        await _heartbeat.StopAsync().ConfigureAwait(false);
        _bus.Remove(this);
        Log.Unsubscribed(_logger, Topic, Group, remaining);
    }

    private ResiliencePipeline BuildPipeline()
    {
        // A rejected payload is not a failure: no retry, and the breaker does not count it.
        var shouldHandle = new PredicateBuilder().Handle<Exception>(ex =>
            ex is not InvalidPayloadException && (ex is not OperationCanceledException || !_abortHandlers.IsCancellationRequested));
        var builder = new ResiliencePipelineBuilder();
        builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions
        {
            FailureRatio = _options.CircuitBreakerFailureRatio,
            MinimumThroughput = _options.CircuitBreakerMinimumThroughput,
            SamplingDuration = _options.CircuitBreakerSamplingDuration,
            BreakDuration = _options.CircuitBreakerBreakDuration,
            StateProvider = _breaker,
            ShouldHandle = shouldHandle,
            OnOpened = args =>
            {
                Volatile.Write(ref _pausedUntil, Stopwatch.GetTimestamp() + (long)(args.BreakDuration.TotalSeconds * Stopwatch.Frequency));
                Log.CircuitOpened(_logger, Topic, Group, args.BreakDuration);
                return default;
            },
            OnClosed = _ =>
            {
                Log.CircuitClosed(_logger, Topic, Group);
                return default;
            },
        });
        if (_options.HandlerRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = _options.HandlerRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.RetryBaseDelay,
                MaxDelay = _options.RetryMaxDelay,
                ShouldHandle = shouldHandle,
                OnRetry = args =>
                {
                    _bus.Metrics.Retried.Add(1, _tags);
                    var id = args.Context.Properties.TryGetValue(MessageKey, out var message) ? message.Id : "";
                    Log.HandlerRetry(_logger, args.Outcome.Exception, Topic, id, args.AttemptNumber + 1);
                    return default;
                },
            });
        }

        return builder.Build();
    }

    private async Task EnsureGroupAsync()
    {
        try
        {
            await _db.StreamCreateConsumerGroupAsync(_stream, Group, _options.ReadFromBeginning ? "0" : "$", createStream: true).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.Contains("BUSYGROUP", StringComparison.Ordinal))
        {
            // The group exists: creation is idempotent.
        }
    }

    /// <summary>
    /// Runs <see cref="ReadOnceAsync"/> until stopped. Every failure of an iteration (connection drop, NOGROUP,
    /// LOADING, READONLY, a failed group re-creation, ...) is retried by <see cref="_loopPipeline"/> with
    /// exponential backoff for as long as it takes; meanwhile <see cref="LastError"/> is set and the health check
    /// reports Degraded. Only a bug outside that pipeline can end the loop (<see cref="_faulted"/>: Unhealthy).
    /// </summary>
    private async Task RunLoopAsync()
    {
        var stop = _stopReading.Token;
        var state = new LoopState(TimeSpan.FromTicks(Math.Max(_options.ClaimIdleTime.Ticks / 2, TimeSpan.FromMilliseconds(20).Ticks)));
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await _loopPipeline.ExecuteAsync(
                    static (state, token) => new ValueTask(state.Self.ReadOnceAsync(state.Loop, token)),
                    (Self: this, Loop: state),
                    stop).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            _faulted = true;
            LastError = ex;
            Log.LoopError(_logger, ex, Topic, Group, TimeSpan.Zero);
        }
    }

    private ResiliencePipeline BuildLoopPipeline() => new ResiliencePipelineBuilder { TimeProvider = RedisMessageBus.LoopClock }
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => ex is not OperationCanceledException || !_stopReading.IsCancellationRequested),
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromMilliseconds(100),
            MaxDelay = MaxErrorDelay,
            OnRetry = args =>
            {
                var ex = args.Outcome.Exception!;
                LastError = ex;
                if (ex is RedisServerException server && server.Message.StartsWith("NOGROUP", StringComparison.Ordinal))
                {
                    // The stream or group was deleted under us: the next attempt re-creates it (and is retried too).
                    _recreateGroup = true;
                }

                Log.LoopError(_logger, ex, Topic, Group, args.RetryDelay);
                return default;
            },
        })
        .Build();

    private sealed class LoopState(TimeSpan claimInterval)
    {
        public TimeSpan ClaimInterval { get; } = claimInterval;

        /// <summary>0: claim at once on start (recovers entries left by crashed consumers).</summary>
        public long LastClaim { get; set; }

        public RedisValue ClaimCursor { get; set; } = "0-0";
    }

    /// <summary>One iteration of the consumer loop: wait for a slot, reclaim or read a batch, dispatch it, or wait.</summary>
    private async Task ReadOnceAsync(LoopState state, CancellationToken stop)
    {
        var taken = 0;
        try
        {
            Volatile.Write(ref _lastLoopTick, Stopwatch.GetTimestamp());
            if (_recreateGroup)
            {
                await EnsureGroupAsync().ConfigureAwait(false);
                _recreateGroup = false;
            }

            var pause = Volatile.Read(ref _pausedUntil) - Stopwatch.GetTimestamp();
            if (pause > 0)
            {
                await Task.Delay(TimeSpan.FromSeconds(Math.Min((double)pause / Stopwatch.Frequency, _options.PollInterval.TotalSeconds)), RedisMessageBus.LoopClock, stop).ConfigureAwait(false);
                return;
            }

            while ((taken = _slots.Take(_batchSize)) == 0)
            {
                await _slots.WaitForReleaseAsync(_options.PollInterval, stop).ConfigureAwait(false);
                Volatile.Write(ref _lastLoopTick, Stopwatch.GetTimestamp());
            }

            var batch = await ReadBatchAsync(state, taken).ConfigureAwait(false);

            // Every entry of the batch now owns one slot (released when its processing completes).
            taken -= batch.Count;
            if (taken > 0)
            {
                _slots.Release(taken);
                taken = 0;
            }

            if (batch.Count > 0)
            {
                _wakeup.PollFast();
                Track(batch);

                // The checks without I/O run here; the admission script and the handlers then run beside
                // the loop, which goes on reading while slots are free.
                _ = ProcessBatchAsync(batch);
            }

            LastError = null;
            if (batch.Count == 0)
            {
                var untilClaim = state.ClaimInterval - Stopwatch.GetElapsedTime(state.LastClaim);
                await _wakeup.WaitAsync(untilClaim < _options.PollInterval ? untilClaim : _options.PollInterval, stop).ConfigureAwait(false);
            }
        }
        finally
        {
            if (taken > 0)
            {
                _slots.Release(taken);
            }
        }
    }

    /// <summary>Up to <paramref name="count"/> entries: idle pending ones reclaimed when a claim is due, then new ones.</summary>
    private async Task<List<(StreamEntry Entry, int Deliveries)>> ReadBatchAsync(LoopState state, int count)
    {
        var batch = new List<(StreamEntry Entry, int Deliveries)>(count);
        if (state.LastClaim == 0 || Stopwatch.GetElapsedTime(state.LastClaim) >= state.ClaimInterval)
        {
            state.LastClaim = Stopwatch.GetTimestamp();
            var claimed = await ReclaimAsync(state.ClaimCursor, count).ConfigureAwait(false);
            state.ClaimCursor = claimed.Cursor;
            batch.AddRange(claimed.Entries);
        }

        if (batch.Count < count)
        {
            var entries = await _db.StreamReadGroupAsync(_stream, Group, Consumer, StreamPosition.NewMessages, count - batch.Count).ConfigureAwait(false);
            foreach (var entry in entries)
            {
                batch.Add((entry, 1));
            }
        }

        return batch;
    }

    private async Task<(RedisValue Cursor, List<(StreamEntry Entry, int Deliveries)> Entries)> ReclaimAsync(RedisValue cursor, int count)
    {
        var result = await _db.StreamAutoClaimAsync(_stream, Group, Consumer, (long)_options.ClaimIdleTime.TotalMilliseconds, cursor, count).ConfigureAwait(false);
        var entries = new List<(StreamEntry, int)>();
        var candidates = result.ClaimedEntries.Where(e => !e.IsNull && !_heartbeat.IsTracked(e.Id)).ToArray();
        if (candidates.Length > 0)
        {
            // XAUTOCLAIM does not return delivery counts; read them from the PEL (one pipelined XPENDING per entry).
            var infos = await Task.WhenAll(candidates.Select(e => _db.StreamPendingMessagesAsync(_stream, Group, 1, Consumer, e.Id, e.Id))).ConfigureAwait(false);
            for (var i = 0; i < candidates.Length; i++)
            {
                if (infos[i].Length == 1)
                {
                    entries.Add((candidates[i], infos[i][0].DeliveryCount));
                }
            }
        }

        return (result.NextStartId, entries);
    }

    /// <summary>The entries of a batch are in flight until <see cref="Complete"/>: kept alive by heartbeats, waited for by a graceful stop.</summary>
    private void Track(List<(StreamEntry Entry, int Deliveries)> batch)
    {
        foreach (var (entry, _) in batch)
        {
            _heartbeat.Track(entry.Id);
            Interlocked.Increment(ref _active);
        }
    }

    private async Task ProcessBatchAsync(List<(StreamEntry Entry, int Deliveries)> batch)
    {
        try
        {
            await AdmitAsync(batch).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LastErrorIfRedis(ex);
            Log.LoopError(_logger, ex, Topic, Group, TimeSpan.Zero);
        }
    }

    /// <summary>
    /// Admits a batch: per entry the checks that need no Redis (<see cref="EntryAdmission.Check"/>), then one script
    /// call for replay protection and the exactly-once check of all of them, then acts on the decisions. Every entry
    /// owns one slot, released by <see cref="Complete"/> (or by its handler when it returns).
    /// </summary>
    private async Task AdmitAsync(List<(StreamEntry Entry, int Deliveries)> batch)
    {
        List<AdmissionCandidate>? candidates = null;
        foreach (var (entry, deliveries) in batch)
        {
            var decision = _admission.Check(entry, deliveries);
            if (decision.Outcome == AdmissionOutcome.Candidate)
            {
                (candidates ??= new(batch.Count)).Add(decision.Candidate!);
            }
            else
            {
                Act(entry, deliveries, decision);
            }
        }

        if (candidates is null)
        {
            return;
        }

        RedisResult[] codes;
        try
        {
            var (keys, args) = _admission.AdmitScriptArguments(candidates);
            codes = (RedisResult[])(await _db.ScriptEvaluateAsync(Scripts.Admit, keys, args).ConfigureAwait(false))!;
        }
        catch
        {
            // Left pending: redelivered after the idle time.
            foreach (var c in candidates)
            {
                Complete(c.Entry);
            }

            throw;
        }

        for (var i = 0; i < candidates.Count; i++)
        {
            var candidate = candidates[i];
            Act(candidate.Entry, candidate.Deliveries, _admission.Decide(candidate, (int)codes[i]));
        }
    }

    /// <summary>Carries out an admission decision; the entry's processing completes in the background.</summary>
    private void Act(StreamEntry entry, int deliveries, AdmissionDecision decision)
    {
        switch (decision.Outcome)
        {
            case AdmissionOutcome.Reject:
            case AdmissionOutcome.DeadLetter:
                _ = RunAsync(entry, DeadLetterAsync(entry, decision.Reason, decision.Detail, deliveries, rejected: decision.Outcome == AdmissionOutcome.Reject));
                break;
            case AdmissionOutcome.OtherGroup:
                _ = RunAsync(entry, _acks.AcknowledgeAsync(entry.Id));
                break;
            case AdmissionOutcome.AlreadyHandled:
                Log.AlreadyHandled(_logger, Topic, Group, decision.Candidate!.Envelope.Id);
                _bus.Metrics.Acked.Add(1, _tags);
                _ = RunAsync(entry, _acks.AcknowledgeAsync(entry.Id));
                break;
            case AdmissionOutcome.Handle:
                _ = HandleAsync(entry, decision.Message!);
                break;
            default:
                throw new UnreachableException($"Admission outcome {decision.Outcome} is not a decision to act on.");
        }
    }

    private async Task RunAsync(StreamEntry entry, Task work)
    {
        try
        {
            await work.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LastErrorIfRedis(ex);
            Log.ProcessingFailed(_logger, ex, Topic, Group, entry.Id.ToString());
        }
        finally
        {
            Complete(entry);
        }
    }

    private void Complete(StreamEntry entry, bool releaseSlot = true)
    {
        _heartbeat.Forget(entry.Id);
        if (releaseSlot)
        {
            _slots.Release(1);
        }

        if (Interlocked.Decrement(ref _active) == 0 && _stopping)
        {
            _drained.TrySetResult();
        }
    }

    /// <summary>
    /// Runs the handler and acknowledges or dead-letters the entry. The entry's slot is released as soon as the handler
    /// is done; the entry stays tracked (heartbeats, graceful stop) until it is acknowledged.
    /// </summary>
    private async Task HandleAsync(StreamEntry entry, BusMessage message)
    {
        var slotHeld = true;
        try
        {
            _bus.Metrics.Delivered.Add(1, _tags);
            if (message.Qos == QualityOfService.AtMostOnce)
            {
                await _acks.AcknowledgeAsync(entry.Id).ConfigureAwait(false);
                _bus.Metrics.Acked.Add(1, _tags);
            }

            using var activity = _bus.Settings.DisableTracing ? null : BusActivities.StartProcess(message, Topic, Group, Consumer);
            var started = Stopwatch.GetTimestamp();
            Exception? failure = null;
            var context = ResilienceContextPool.Shared.Get(_abortHandlers.Token);
            context.Properties.Set(MessageKey, message);
            try
            {
                await _pipeline.ExecuteAsync(
                    static (ctx, state) => new ValueTask(state.Handler(state.Message, ctx.CancellationToken)),
                    context,
                    (Handler: _handler, Message: message)).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                failure = ex;
            }
            finally
            {
                slotHeld = false;
                _slots.Release(1);
                ResilienceContextPool.Shared.Return(context);
                _bus.Metrics.HandlerDuration.Record(
                    Stopwatch.GetElapsedTime(started).TotalSeconds,
                    _tags[0], _tags[1], new KeyValuePair<string, object?>(BusTags.ErrorType, failure?.GetType().FullName));
            }

            if (failure is null)
            {
                if (message.Qos == QualityOfService.ExactlyOnce)
                {
                    // Recorded before the acknowledgement: a crash in between redelivers an entry that is then skipped.
                    await _db.StringSetAsync(BusProtocol.DoneKey(Topic, Group, message.Id.ToLowerInvariant()), entry.Id, _bus.Settings.ExactlyOnceTtl).ConfigureAwait(false);
                    await _acks.AcknowledgeAsync(entry.Id).ConfigureAwait(false);
                }
                else if (message.Qos == QualityOfService.AtLeastOnce)
                {
                    await _acks.AcknowledgeAsync(entry.Id).ConfigureAwait(false);
                }

                if (message.Qos != QualityOfService.AtMostOnce)
                {
                    _bus.Metrics.Acked.Add(1, _tags);
                }

                activity?.SetStatus(ActivityStatusCode.Ok);
                return;
            }

            BusActivities.SetFailed(activity, failure);
            activity?.AddException(failure);
            if (message.Qos == QualityOfService.AtMostOnce)
            {
                Log.HandlerFailed(_logger, failure, Topic, Group, message.Id, message.DeliveryCount);
                return; // acknowledged before handling: lost by design
            }

            if (failure is InvalidPayloadException invalid)
            {
                await DeadLetterAsync(entry, RejectionReasons.InvalidPayload, invalid.Message, message.DeliveryCount, rejected: true).ConfigureAwait(false);
                return;
            }

            if (failure is BrokenCircuitException || (failure is OperationCanceledException && _abortHandlers.IsCancellationRequested))
            {
                return; // stays pending; redelivered once the breaker closes or by another consumer
            }

            if (message.DeliveryCount >= _options.MaxDeliveries)
            {
                Log.MaxDeliveriesReached(_logger, failure, Topic, Group, message.Id, message.DeliveryCount);
                await DeadLetterAsync(entry, RejectionReasons.MaxDeliveries,
                    $"the handler failed on delivery {message.DeliveryCount} of {_options.MaxDeliveries}: {failure.GetType().FullName}: {failure.Message}",
                    message.DeliveryCount, rejected: false).ConfigureAwait(false);
            }
            else
            {
                Log.HandlerFailed(_logger, failure, Topic, Group, message.Id, message.DeliveryCount);
            }
        }
        catch (Exception ex)
        {
            LastErrorIfRedis(ex);
            Log.ProcessingFailed(_logger, ex, Topic, Group, entry.Id.ToString());
        }
        finally
        {
            Complete(entry, releaseSlot: slotHeld);
        }
    }

    private async Task DeadLetterAsync(StreamEntry entry, string reason, string detail, int deliveryCount, bool rejected)
    {
        var args = RedisDeadLetterQueue.BuildArguments(Group, Consumer, entry, reason, detail, deliveryCount, _bus.Clock.GetUtcNow());
        await _db.ScriptEvaluateAsync(Scripts.DeadLetter, [_stream, _dlq], [.. args]).ConfigureAwait(false);
        var tags = new KeyValuePair<string, object?>(BusTags.Reason, reason);
        if (rejected)
        {
            _bus.Metrics.Rejected.Add(1, _tags[0], _tags[1], tags);
            Log.Rejected(_logger, Topic, Group, entry.Id.ToString(), reason, detail);
        }

        _bus.Metrics.DeadLettered.Add(1, _tags[0], _tags[1], tags);
    }

    private void LastErrorIfRedis(Exception ex)
    {
        if (ex is RedisConnectionException)
        {
            LastError = ex;
        }
    }
}
