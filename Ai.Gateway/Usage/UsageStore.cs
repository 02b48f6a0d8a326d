using System.Globalization;
using StackExchange.Redis;

namespace Ai.Gateway.Usage;

/// <summary>
/// Today's usage of one model, summed over every gateway replica. <see cref="CacheHits"/> are answers served from the shared
/// response cache (not counted in <see cref="Requests"/>, no tokens charged); <see cref="CacheSavedUsd"/> what they cost when
/// the model gave them.
/// </summary>
public sealed record ModelUsage(string Model, long Requests, long InputTokens, long OutputTokens, decimal CostUsd, long Denials, long Fallbacks, long Failures,
    long CacheHits = 0, decimal CacheSavedUsd = 0);

/// <summary>
/// Usage per model per UTC day in Redis: one hash per day (<c>usage:yyyy-MM-dd</c>, field
/// <c>&lt;model&gt;|&lt;counter&gt;</c>) that every replica increments, so they share the totals. Cost is kept in
/// micro-dollars to stay an integer. Days expire after 90 days.
/// </summary>
public sealed class UsageStore(IConnectionMultiplexer redis)
{
    private static readonly TimeSpan Retention = TimeSpan.FromDays(90);

    // A batch that is written again (its first write's reply was lost) must not count twice: the
    // marker records that this batch id was applied. "{usage:<day>}:batch:<id>" hashes to the slot of
    // "usage:<day>" (a key without braces hashes whole), so the script is cluster-safe.
    private const string WriteScript = """
        if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[2]) then return 0 end
        for i = 3, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
        redis.call('EXPIRE', KEYS[1], ARGV[1])
        return 1
        """;

    private static readonly TimeSpan MarkerLifetime = TimeSpan.FromDays(2);

    private static string DayKey(DateOnly day) => $"usage:{day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}";

    /// <summary>Adds one batch of counts; writing the same batch id again changes nothing.</summary>
    public async Task WriteAsync(string batchId, IReadOnlyDictionary<UsageCounter, long> counts)
    {
        var database = redis.GetDatabase();
        foreach (var day in counts.GroupBy(c => c.Key.Day))
        {
            var key = DayKey(day.Key);
            RedisValue[] args =
            [
                (long)Retention.TotalSeconds,
                (long)MarkerLifetime.TotalSeconds,
                .. day.SelectMany(c => new RedisValue[] { c.Key.Field, c.Value }),
            ];
            await database.ScriptEvaluateAsync(WriteScript, [key, $"{{{key}}}:batch:{batchId}"], args);
        }
    }

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
                return new ModelUsage(g.Key, Get(UsageCounter.Requests), Get(UsageCounter.InputTokens), Get(UsageCounter.OutputTokens),
                    Get(UsageCounter.CostMicros) / 1_000_000m, Get(UsageCounter.Denials), Get(UsageCounter.Fallbacks), Get(UsageCounter.Failures),
                    Get(UsageCounter.CacheHits), Get(UsageCounter.CacheSavedMicros) / 1_000_000m);
            })
            .OrderBy(u => u.Model, StringComparer.Ordinal)
            .ToList();
    }
}
