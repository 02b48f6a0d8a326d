using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.CircuitBreaker;
using StackExchange.Redis;

namespace Communication.Bus.RateLimiting;

/// <summary>
/// The Redis implementation of <see cref="IDistributedTokenBucket"/>: one Lua script
/// (<c>EVALSHA</c>, re-sent with <c>EVAL</c> when the server's script cache lost it), one
/// hash-tagged key per bucket, milliseconds throughout; behind a Polly circuit breaker with a
/// configurable policy for Redis outages. Thread-safe; register it as a singleton.
/// </summary>
/// <remarks>
/// <para>Calls for the same bucket and rule that arrive while one is already on its way to Redis
/// are batched: they wait for it, then go together in one script call, which decides them one
/// after the other at one instant (atomic, like calls that arrive at once). An idle bucket's call
/// goes at once, so batching adds no latency without contention; under contention it divides the
/// Redis work per decision (<see cref="RequestCoalescer{TKey, TRequest, TResult}"/>).
/// <see cref="TokenBucketOptions.MaxBatchSize"/> = 1 turns it off.</para>
/// <para>Constructible without a host (tests, benchmarks):
/// <c>new DistributedTokenBucket(multiplexer, new TokenBucketOptions())</c>. In an app, use
/// <c>builder.AddDistributedRateLimiting()</c>. See <c>docs/RATE_LIMITING.md</c>.</para>
/// </remarks>
public sealed class DistributedTokenBucket : IDistributedTokenBucket, IDisposable
{
    private readonly IConnectionMultiplexer _redis;
    private readonly TokenBucketOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RateLimitingMetrics _metrics;
    private readonly ResiliencePipeline _pipeline;
    private readonly CircuitBreakerStateProvider _circuit = new();
    private readonly LocalFallbackLimiters _fallback;
    private readonly DailyQuotaCalendar _calendar = new();
    private readonly SharedDeadlines? _deadlines;
    private readonly RequestCoalescer<BatchKey, int, RateLimitDecision>? _coalescer;

    /// <summary>Creates a token bucket client over an existing Redis connection.</summary>
    /// <param name="redis">The Redis connection (shared; not disposed by this instance).</param>
    /// <param name="options">The options; validated here.</param>
    /// <param name="timeProvider">The clock for client time, waits, timeouts and the circuit breaker. Default <see cref="TimeProvider.System"/>.</param>
    /// <param name="meterFactory">Creates the <see cref="RateLimitingTelemetry.MeterName"/> meter; without it a meter of its own is created.</param>
    /// <param name="logger">The logger; none by default.</param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The options are invalid.</exception>
    public DistributedTokenBucket(
        IConnectionMultiplexer redis,
        TokenBucketOptions options,
        TimeProvider? timeProvider = null,
        IMeterFactory? meterFactory = null,
        ILogger<DistributedTokenBucket>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(options);
        TokenBucketOptionsValidator.ThrowIfInvalid(options);

        _redis = redis;
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _metrics = new RateLimitingMetrics(meterFactory);
        _fallback = new LocalFallbackLimiters(_time);
        _deadlines = options.CommandTimeout == Timeout.InfiniteTimeSpan ? null : new SharedDeadlines(options.CommandTimeout, _time);
        _pipeline = BuildPipeline();
        _coalescer = options.MaxBatchSize <= 1
            ? null
            : new RequestCoalescer<BatchKey, int, RateLimitDecision>(options.MaxBatchSize,
                (key, costs, cancellationToken) => DecideAsync(key.Bucket, key.Rule, costs, cancellationToken));
    }

    /// <summary>
    /// The state of the circuit breaker in front of Redis: <see cref="CircuitState.Closed"/> while
    /// Redis answers, <see cref="CircuitState.Open"/> while calls skip Redis and the failure
    /// policy decides (e.g. for a health check or a dashboard).
    /// </summary>
    public CircuitState CircuitState => _circuit.CircuitState;

    /// <summary>The Redis key holding <paramref name="bucket"/>'s state: <c>{KeyPrefix}{bucket}</c>.</summary>
    /// <param name="bucket">The bucket name.</param>
    /// <returns>The key, e.g. <c>ratelimit:{gemini-2.5-flash}</c>.</returns>
    public string KeyFor(string bucket)
    {
        ValidateBucket(bucket);
        return string.Concat(_options.KeyPrefix, "{", bucket, "}");
    }

    /// <inheritdoc />
    public ValueTask<RateLimitDecision> TryAcquireAsync(string bucket, TokenBucketRule rule, int cost = 1, CancellationToken cancellationToken = default)
    {
        Validate(bucket, rule, cost);
        cancellationToken.ThrowIfCancellationRequested();
        return TryAcquireCoreAsync(bucket, rule, cost, cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask<RateLimitDecision> AcquireAsync(string bucket, TokenBucketRule rule, int cost, TimeSpan maxWait, CancellationToken cancellationToken = default)
    {
        Validate(bucket, rule, cost);
        if (maxWait < TimeSpan.Zero && maxWait != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(maxWait), maxWait, "The wait budget must be zero, positive or infinite.");
        }

        cancellationToken.ThrowIfCancellationRequested();
        var started = _time.GetTimestamp();
        while (true)
        {
            var decision = await TryAcquireCoreAsync(bucket, rule, cost, cancellationToken).ConfigureAwait(false);
            if (decision.Allowed || decision.DailyQuotaExhausted || cost == 0)
            {
                return decision;
            }

            var wait = decision.RetryAfter > TimeSpan.Zero ? decision.RetryAfter : TimeSpan.FromMilliseconds(1);
            var left = maxWait == Timeout.InfiniteTimeSpan ? TimeSpan.MaxValue : maxWait - _time.GetElapsedTime(started);
            if (wait > left)
            {
                return decision;
            }

            await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Disposes the local fallback limiters, the timeout timer and the meter this instance created.</summary>
    public void Dispose()
    {
        _deadlines?.Dispose();
        _fallback.Dispose();
        _metrics.Dispose();
    }

    private ValueTask<RateLimitDecision> TryAcquireCoreAsync(string bucket, TokenBucketRule rule, int cost, CancellationToken cancellationToken) =>
        _coalescer is null
            ? DecideOneAsync(bucket, rule, cost, cancellationToken)
            : _coalescer.SendAsync(new BatchKey(bucket, rule), cost, cancellationToken);

    private async ValueTask<RateLimitDecision> DecideOneAsync(string bucket, TokenBucketRule rule, int cost, CancellationToken cancellationToken) =>
        (await DecideAsync(bucket, rule, [cost], cancellationToken).ConfigureAwait(false))[0];

    /// <summary>Decides <paramref name="costs"/> one after the other in one script call, or by the failure policy.</summary>
    private async ValueTask<RateLimitDecision[]> DecideAsync(string bucket, TokenBucketRule rule, int[] costs, CancellationToken cancellationToken)
    {
        var call = new ScriptCall(this, string.Concat(_options.KeyPrefix, "{", bucket, "}"), BuildArguments(rule, costs));
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        Outcome<RedisResult> outcome;
        try
        {
            outcome = await _pipeline.ExecuteOutcomeAsync(
                static (ctx, call) => call.Owner.EvaluateAsync(call, ctx.CancellationToken),
                context,
                call).ConfigureAwait(false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }

        var decisions = new RateLimitDecision[costs.Length];
        if (outcome.Exception is null)
        {
            var reply = (RedisResult[])outcome.Result!;
            for (var i = 0; i < costs.Length; i++)
            {
                decisions[i] = Parse(reply, i * TokenBucketScript.ReplyWidth);
                if (costs[i] > 0)
                {
                    _metrics.RecordDecision(decisions[i], decisions[i].Allowed ? null : decisions[i].DailyQuotaExhausted ? "daily_quota" : "bucket_empty");
                }
            }

            return decisions;
        }

        if (outcome.Exception is OperationCanceledException && cancellationToken.IsCancellationRequested)
        {
            outcome.ThrowIfException();
        }

        if (outcome.Exception is not BrokenCircuitException)
        {
            _metrics.RecordRedisError(outcome.Exception);
            RateLimitingLog.RedisCallFailed(_logger, bucket, _options.FailurePolicy, outcome.Exception);
        }

        for (var i = 0; i < costs.Length; i++)
        {
            decisions[i] = DecideWithoutRedis(bucket, rule, costs[i]);
        }

        return decisions;
    }

    /// <summary>Runs the script (never throws: failures become outcomes for the circuit breaker).</summary>
    private async ValueTask<Outcome<RedisResult>> EvaluateAsync(ScriptCall call, CancellationToken cancellationToken)
    {
        var deadline = _deadlines?.Next() ?? CancellationToken.None;
        var database = _redis.GetDatabase();
        RedisKey[] keys = [call.Key];
        Task<RedisResult>? sent = null;
        try
        {
            try
            {
                sent = database.ScriptEvaluateAsync(TokenBucketScript.Sha1, keys, call.Arguments);
                return Outcome.FromResult(await Bounded(sent, deadline, cancellationToken).ConfigureAwait(false));
            }
            catch (RedisServerException ex) when (ex.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
            {
                // The server's script cache lost the script (restart, failover, SCRIPT FLUSH): EVAL
                // runs it and caches it again, so the next call's EVALSHA hits.
                RateLimitingLog.ScriptReloaded(_logger);
                sent = database.ScriptEvaluateAsync(TokenBucketScript.Source, keys, call.Arguments);
                return Outcome.FromResult(await Bounded(sent, deadline, cancellationToken).ConfigureAwait(false));
            }
        }
        catch (OperationCanceledException ex)
        {
            // The Redis client cannot cancel a sent command: observe its eventual failure so that
            // it does not surface as an unobserved task exception.
            _ = sent?.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested
                ? Outcome.FromException<RedisResult>(new TimeoutException(
                    $"The token-bucket script did not answer within the command timeout ({_options.CommandTimeout})."))
                : Outcome.FromException<RedisResult>(ex);
        }
        catch (Exception ex)
        {
            return Outcome.FromException<RedisResult>(ex);
        }
    }

    /// <summary><paramref name="task"/>, abandoned when the deadline passes or the caller cancels.</summary>
    private static Task<RedisResult> Bounded(Task<RedisResult> task, CancellationToken deadline, CancellationToken cancellationToken)
    {
        if (task.IsCompleted)
        {
            return task;
        }

        var bounded = deadline.CanBeCanceled ? task.WaitAsync(deadline) : task;
        return cancellationToken.CanBeCanceled ? bounded.WaitAsync(cancellationToken) : bounded;
    }

    private RedisValue[] BuildArguments(TokenBucketRule rule, int[] costs)
    {
        var arguments = new RedisValue[TokenBucketScript.FirstCostArgument + costs.Length];
        arguments[0] = rule.Capacity;
        arguments[1] = rule.RefillPerSecond;
        long? clientNow = null;
        if (_options.TimeSource == TokenBucketTimeSource.Client)
        {
            clientNow = _time.GetUtcNow().ToUnixTimeMilliseconds();
            arguments[2] = clientNow.Value;
        }
        else
        {
            arguments[2] = RedisValue.EmptyString;
        }

        if (rule.DailyQuota is { } quota)
        {
            // In server-time mode the local clock only picks the three candidate days; the script
            // chooses among them with the server clock.
            var windows = _calendar.WindowsAt(rule.DailyQuotaTimeZone, clientNow ?? _time.GetUtcNow().ToUnixTimeMilliseconds());
            arguments[3] = quota;
            arguments[4] = windows.PreviousStart;
            arguments[5] = windows.Start;
            arguments[6] = windows.End;
            arguments[7] = windows.NextEnd;
        }
        else
        {
            for (var i = 3; i < TokenBucketScript.FirstCostArgument; i++)
            {
                arguments[i] = RedisValue.EmptyString;
            }
        }

        for (var i = 0; i < costs.Length; i++)
        {
            arguments[TokenBucketScript.FirstCostArgument + i] = costs[i];
        }

        return arguments;
    }

    private static RateLimitDecision Parse(RedisResult[] reply, int offset)
    {
        var dailyRemaining = (long)reply[offset + 3];
        var dailyReset = (long)reply[offset + 6];
        return new RateLimitDecision
        {
            Allowed = (long)reply[offset] == 1,
            Remaining = (long)reply[offset + 1],
            RetryAfter = TimeSpan.FromMilliseconds((long)reply[offset + 2]),
            DailyRemaining = dailyRemaining < 0 ? null : dailyRemaining,
            DailyQuotaExhausted = (long)reply[offset + 4] == 1,
            ResetAfter = TimeSpan.FromMilliseconds((long)reply[offset + 5]),
            DailyResetAfter = dailyReset < 0 ? null : TimeSpan.FromMilliseconds(dailyReset),
        };
    }

    private RateLimitDecision DecideWithoutRedis(string bucket, TokenBucketRule rule, int cost)
    {
        if (_options.FailurePolicy == RateLimitFailurePolicy.FailClosed)
        {
            var denial = new RateLimitDecision
            {
                Allowed = false,
                RetryAfter = _options.CircuitBreaker.BreakDuration,
                ResetAfter = _options.CircuitBreaker.BreakDuration,
                FromFallback = true,
            };
            if (cost > 0)
            {
                _metrics.RecordFailClosed();
                _metrics.RecordDecision(denial, "fail_closed");
            }

            return denial;
        }

        var decision = _fallback.Decide(bucket, rule, cost);
        if (cost > 0)
        {
            _metrics.RecordFailOpen();
            _metrics.RecordDecision(decision, decision.Allowed ? null : "bucket_empty");
        }

        return decision;
    }

    private ResiliencePipeline BuildPipeline()
    {
        var breaker = _options.CircuitBreaker;
        var builder = new ResiliencePipelineBuilder { TimeProvider = _time, Name = "Communication.Bus.RateLimiting" };
        builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions
        {
            FailureRatio = breaker.FailureRatio,
            MinimumThroughput = breaker.MinimumThroughput,
            SamplingDuration = breaker.SamplingDuration,
            BreakDuration = breaker.BreakDuration,
            StateProvider = _circuit,
            ShouldHandle = static args => ValueTask.FromResult(args.Outcome.Exception is RedisException or TimeoutException),
            OnOpened = args =>
            {
                RateLimitingLog.CircuitOpened(_logger, args.BreakDuration, _options.FailurePolicy, args.Outcome.Exception);
                return default;
            },
            OnHalfOpened = _ =>
            {
                RateLimitingLog.CircuitHalfOpened(_logger);
                return default;
            },
            OnClosed = _ =>
            {
                RateLimitingLog.CircuitClosed(_logger);
                return default;
            },
        });
        // The command timeout is not a Polly timeout strategy: see SharedDeadlines (a timer per call
        // cost as much CPU as the rest of a decision).
        return builder.Build();
    }

    private void Validate(string bucket, TokenBucketRule rule, int cost)
    {
        ValidateBucket(bucket);
        ArgumentNullException.ThrowIfNull(rule);
        rule.Validate(cost);
        if (rule.DailyQuota is not null)
        {
            _calendar.Resolve(rule.DailyQuotaTimeZone);
        }
    }

    private static void ValidateBucket(string bucket)
    {
        ArgumentException.ThrowIfNullOrEmpty(bucket);
        if (bucket.AsSpan().IndexOfAny('{', '}') >= 0)
        {
            throw new ArgumentException("A bucket name must not contain '{' or '}': the braces around it are the cluster hash tag.", nameof(bucket));
        }
    }

    private sealed record ScriptCall(DistributedTokenBucket Owner, RedisKey Key, RedisValue[] Arguments);

    private readonly record struct BatchKey(string Bucket, TokenBucketRule Rule);
}
