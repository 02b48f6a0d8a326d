using System.Globalization;
using Ai.Gateway.Policy;
using StackExchange.Redis;

namespace Ai.Gateway.Usage;

/// <summary>Today's usage of one model, summed over every gateway replica.</summary>
public sealed record ModelUsage(string Model, long Requests, long InputTokens, long OutputTokens, decimal CostUsd, long Denials, long Fallbacks, long Failures);

/// <summary>
/// Usage and cost per model per UTC day, in one Redis hash per day (<c>usage:{yyyy-MM-dd}</c>, field
/// <c>&lt;model&gt;|&lt;counter&gt;</c>), incremented atomically so replicas share the totals. Cost is kept in
/// micro-dollars to stay an integer. Days expire after 90 days.
/// </summary>
public sealed class UsageRecorder(IConnectionMultiplexer redis, TimeProvider time)
{
    private static readonly TimeSpan Retention = TimeSpan.FromDays(90);

    private static RedisKey DayKey(DateOnly day) => $"usage:{day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}";

    public Task RecordAnswerAsync(string model, TokenUsage usage, decimal costUsd) => IncrementAsync(model,
        ("requests", 1), ("inputTokens", usage.InputTokens), ("outputTokens", usage.OutputTokens), ("costMicros", (long)Math.Round(costUsd * 1_000_000m)));

    public Task RecordDenialAsync(string model) => IncrementAsync(model, ("denials", 1));

    public Task RecordFallbackAsync(string model) => IncrementAsync(model, ("fallbacks", 1));

    public Task RecordFailureAsync(string model) => IncrementAsync(model, ("failures", 1));

    public async Task<IReadOnlyList<ModelUsage>> ReadAsync(DateOnly day)
    {
        var entries = await redis.GetDatabase().HashGetAllAsync(DayKey(day));
        return entries
            .Select(e => (Field: e.Name.ToString(), Value: (long)e.Value))
            .GroupBy(e => e.Field[..e.Field.LastIndexOf('|')], StringComparer.Ordinal)
            .Select(g =>
            {
                var values = g.ToDictionary(e => e.Field[(e.Field.LastIndexOf('|') + 1)..], e => e.Value);
                long Get(string counter) => values.GetValueOrDefault(counter);
                return new ModelUsage(g.Key, Get("requests"), Get("inputTokens"), Get("outputTokens"),
                    Get("costMicros") / 1_000_000m, Get("denials"), Get("fallbacks"), Get("failures"));
            })
            .OrderBy(u => u.Model, StringComparer.Ordinal)
            .ToList();
    }

    public DateOnly Today => DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);

    private async Task IncrementAsync(string model, params (string Counter, long By)[] increments)
    {
        var key = DayKey(Today);
        var batch = redis.GetDatabase().CreateBatch();
        var tasks = increments.Where(i => i.By != 0)
            .Select(i => (Task)batch.HashIncrementAsync(key, $"{model}|{i.Counter}", i.By))
            .Append(batch.KeyExpireAsync(key, Retention))
            .ToList();
        batch.Execute();
        await Task.WhenAll(tasks);
    }
}
