namespace Ai.Gateway.Usage;

/// <summary>
/// Counts usage in memory on the answer's path (a lock and a dictionary add, no I/O); the
/// <see cref="UsageWriter"/> takes what was counted and writes it to Redis in the background, so a
/// slow or missing Redis never delays or fails an answer. Counts are summed per UTC day, model and
/// counter, so what waits for Redis stays small however long Redis is away.
/// </summary>
public sealed class UsageRecorder(TimeProvider time)
{
    private readonly Lock _lock = new();
    private Dictionary<UsageCounter, long> _pending = [];

    public DateOnly Today => DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);

    /// <summary>Distinct counters waiting to be written.</summary>
    public int Pending
    {
        get
        {
            lock (_lock)
            {
                return _pending.Count;
            }
        }
    }

    public void RecordAnswer(string model, TokenUsage usage, decimal costUsd) => Add(model,
        (UsageCounter.Requests, 1), (UsageCounter.InputTokens, usage.InputTokens), (UsageCounter.OutputTokens, usage.OutputTokens),
        (UsageCounter.CostMicros, (long)Math.Round(costUsd * 1_000_000m)));

    public void RecordDenial(string model) => Add(model, (UsageCounter.Denials, 1));

    public void RecordFallback(string model) => Add(model, (UsageCounter.Fallbacks, 1));

    public void RecordFailure(string model) => Add(model, (UsageCounter.Failures, 1));

    /// <summary>An answer served from the response cache: no tokens, the cost it had when the model gave it saved.</summary>
    public void RecordCacheHit(string model, decimal savedUsd) => Add(model,
        (UsageCounter.CacheHits, 1), (UsageCounter.CacheSavedMicros, (long)Math.Round(savedUsd * 1_000_000m)));

    /// <summary>Takes everything counted so far (empty when nothing was); later counts start afresh.</summary>
    public IReadOnlyDictionary<UsageCounter, long> Take()
    {
        lock (_lock)
        {
            if (_pending.Count == 0)
            {
                return _pending;
            }

            var taken = _pending;
            _pending = [];
            return taken;
        }
    }

    private void Add(string model, params ReadOnlySpan<(string Counter, long By)> increments)
    {
        var day = Today;
        lock (_lock)
        {
            foreach (var (counter, by) in increments)
            {
                if (by != 0)
                {
                    var key = new UsageCounter(day, model, counter);
                    _pending[key] = _pending.GetValueOrDefault(key) + by;
                }
            }
        }
    }
}

/// <summary>One counter of one model on one UTC day (a field of that day's usage hash).</summary>
public readonly record struct UsageCounter(DateOnly Day, string Model, string Counter)
{
    public const string Requests = "requests";
    public const string InputTokens = "inputTokens";
    public const string OutputTokens = "outputTokens";
    public const string CostMicros = "costMicros";
    public const string Denials = "denials";
    public const string Fallbacks = "fallbacks";
    public const string Failures = "failures";
    public const string CacheHits = "cacheHits";
    public const string CacheSavedMicros = "cacheSavedMicros";

    public string Field => $"{Model}|{Counter}";
}
