using System.Text.Json;
using Orchestration.Api.Model;
using StackExchange.Redis;

namespace Orchestration.Api.Engine;

/// <summary>A run as loaded: its state and the version a commit must match.</summary>
public sealed record StoredRun(RunState State, long Version);

/// <summary>
/// Durable run state in Redis. Per run (all under the run's hash tag, so one script may touch them):
/// <c>orch:run:{id}</c> (hash: version + JSON state), <c>orch:run:{id}:events</c> (stream: the event
/// history) and <c>orch:run:{id}:outbox</c> (hash: tasks stored but not yet confirmed sent). Shared:
/// <c>orch:wakeups</c> (sorted set: when to look at a run again), <c>orch:runs</c> and
/// <c>orch:runs:wf:{workflow}</c> (sorted sets: runs by creation time).
/// </summary>
public sealed class RunStore(IConnectionMultiplexer redis)
{
    public static readonly RedisChannel EventsChannel = RedisChannel.Literal("orch:run-events");
    private static readonly RedisKey Wakeups = "orch:wakeups";
    private static readonly RedisKey AllRuns = "orch:runs";

    // Compare-and-set the state, record the outbox and append the events, atomically.
    private static readonly LuaScript CommitScript = LuaScript.Prepare("""
        local current = redis.call('HGET', @run, 'v')
        if (current or '0') ~= @expected then return 0 end
        local version = tonumber(@expected) + 1
        redis.call('HSET', @run, 'v', version, 'doc', @doc)
        local outbox = cjson.decode(@outbox)
        for i = 1, #outbox, 2 do redis.call('HSET', @outboxKey, outbox[i], outbox[i + 1]) end
        local events = cjson.decode(@events)
        for i = 1, #events do redis.call('XADD', @eventsKey, '*', 'e', events[i]) end
        local ttl = tonumber(@ttl)
        if ttl > 0 then
            redis.call('PEXPIRE', @run, ttl)
            redis.call('PEXPIRE', @eventsKey, ttl)
            redis.call('PEXPIRE', @outboxKey, ttl)
        end
        return version
        """);

    // Take the due runs and push each one's wakeup to the end of the lease: if this replica dies,
    // another sees the run again when the lease ends.
    private static readonly LuaScript ClaimScript = LuaScript.Prepare("""
        local due = redis.call('ZRANGEBYSCORE', @wakeups, '-inf', @now, 'LIMIT', 0, @max)
        for i = 1, #due do redis.call('ZADD', @wakeups, 'XX', @leaseUntil, due[i]) end
        return due
        """);

    // Release a claimed wakeup: set the next one, unless another replica scheduled an earlier one meanwhile.
    private static readonly LuaScript ReleaseScript = LuaScript.Prepare("""
        local score = redis.call('ZSCORE', @wakeups, @runId)
        if score == @leaseUntil then
            if @next == '' then redis.call('ZREM', @wakeups, @runId)
            else redis.call('ZADD', @wakeups, @next, @runId) end
        elseif @next ~= '' then
            redis.call('ZADD', @wakeups, 'LT', @next, @runId)
        end
        return 1
        """);

    private static RedisKey RunKey(string runId) => $"orch:run:{{{runId}}}";

    private static RedisKey EventsKey(string runId) => $"orch:run:{{{runId}}}:events";

    private static RedisKey OutboxKey(string runId) => $"orch:run:{{{runId}}}:outbox";

    private static RedisKey WorkflowRuns(string workflowId) => $"orch:runs:wf:{workflowId}";

    private static RedisKey IdempotencyKey(string workflowId, string key) => $"orch:idem:{workflowId}:{key}";

    public async Task<StoredRun?> LoadAsync(string runId)
    {
        var values = await redis.GetDatabase().HashGetAsync(RunKey(runId), ["v", "doc"]);
        return values[1].HasValue
            ? new StoredRun(JsonSerializer.Deserialize<RunState>((string)values[1]!, RunJson.Options)!, (long)values[0])
            : null;
    }

    /// <summary>Stores the transition if the run is still at <paramref name="expectedVersion"/> (0 = new run).</summary>
    public async Task<long?> CommitAsync(RunTransition transition, long expectedVersion, TimeSpan? expireAfter)
    {
        var state = transition.State;
        var outbox = transition.Dispatches.SelectMany(d => new[] { d.MessageId, JsonSerializer.Serialize(d, RunJson.Options) }).ToArray();
        var events = transition.Events.Select(e => JsonSerializer.Serialize(e, RunJson.Options)).ToArray();
        var result = await redis.GetDatabase().ScriptEvaluateAsync(CommitScript, new
        {
            run = RunKey(state.RunId),
            eventsKey = EventsKey(state.RunId),
            outboxKey = OutboxKey(state.RunId),
            expected = expectedVersion.ToString(System.Globalization.CultureInfo.InvariantCulture),
            doc = JsonSerializer.Serialize(state, RunJson.Options),
            outbox = JsonSerializer.Serialize(outbox),
            events = JsonSerializer.Serialize(events),
            ttl = (long)(expireAfter?.TotalMilliseconds ?? 0),
        });
        var version = (long)result;
        if (version == 0)
        {
            return null;
        }

        if (transition.Events.Count > 0)
        {
            await redis.GetDatabase().PublishAsync(EventsChannel, state.RunId, CommandFlags.FireAndForget);
        }

        return version;
    }

    /// <summary>Adds a new run to the listings (after its first commit).</summary>
    public async Task IndexAsync(RunState run, TimeSpan retention)
    {
        var db = redis.GetDatabase();
        var created = run.CreatedAt.ToUnixTimeMilliseconds();
        var oldest = created - (long)retention.TotalMilliseconds;
        var batch = db.CreateBatch();
        var tasks = new List<Task>
        {
            batch.SortedSetAddAsync(AllRuns, run.RunId, created),
            batch.SortedSetAddAsync(WorkflowRuns(run.Workflow.Id), run.RunId, created),
            batch.SortedSetRemoveRangeByScoreAsync(AllRuns, double.NegativeInfinity, oldest),
            batch.SortedSetRemoveRangeByScoreAsync(WorkflowRuns(run.Workflow.Id), double.NegativeInfinity, oldest),
        };
        batch.Execute();
        await Task.WhenAll(tasks);
    }

    /// <summary>Claims a run id for an idempotency key; returns the id that holds it (maybe another).</summary>
    public async Task<string> ClaimIdempotencyKeyAsync(string workflowId, string key, string runId, TimeSpan retention)
    {
        var db = redis.GetDatabase();
        var redisKey = IdempotencyKey(workflowId, key);
        return await db.StringSetAsync(redisKey, runId, retention, When.NotExists)
            ? runId
            : (string?)await db.StringGetAsync(redisKey) ?? runId;
    }

    public async Task<IReadOnlyList<TaskDispatch>> PendingOutboxAsync(string runId) =>
        (await redis.GetDatabase().HashValuesAsync(OutboxKey(runId)))
            .Select(v => JsonSerializer.Deserialize<TaskDispatch>((string)v!, RunJson.Options)!)
            .ToList();

    public Task ConfirmSentAsync(string runId, IEnumerable<string> messageIds) =>
        redis.GetDatabase().HashDeleteAsync(OutboxKey(runId), messageIds.Select(id => (RedisValue)id).ToArray());

    /// <summary>Asks to look at the run again at <paramref name="due"/> (never later than an earlier request).</summary>
    public Task ScheduleAsync(string runId, DateTimeOffset due) =>
        redis.GetDatabase().SortedSetAddAsync(Wakeups, runId, due.ToUnixTimeMilliseconds(), SortedSetWhen.LessThan);

    public Task UnscheduleAsync(string runId) => redis.GetDatabase().SortedSetRemoveAsync(Wakeups, runId);

    public async Task<IReadOnlyList<string>> ClaimDueAsync(DateTimeOffset now, DateTimeOffset leaseUntil, int max)
    {
        var due = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(ClaimScript, new
        {
            wakeups = Wakeups,
            now = now.ToUnixTimeMilliseconds(),
            leaseUntil = leaseUntil.ToUnixTimeMilliseconds(),
            max,
        }))!;
        return due.Select(r => (string)r!).ToList();
    }

    public Task ReleaseAsync(string runId, DateTimeOffset leaseUntil, DateTimeOffset? next) =>
        redis.GetDatabase().ScriptEvaluateAsync(ReleaseScript, new
        {
            wakeups = Wakeups,
            runId,
            leaseUntil = leaseUntil.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
            next = next?.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "",
        });

    /// <summary>Events after <paramref name="afterId"/> (stream entry ids; "0" for all), oldest first.</summary>
    public async Task<IReadOnlyList<(string Id, RunEvent Event)>> ReadEventsAsync(string runId, string afterId, int count = 500)
    {
        var entries = await redis.GetDatabase().StreamRangeAsync(EventsKey(runId), minId: $"({afterId}", count: count);
        return entries
            .Select(e => (e.Id.ToString(), JsonSerializer.Deserialize<RunEvent>((string)e["e"]!, RunJson.Options)!))
            .ToList();
    }

    /// <summary>Runs newest first, from <paramref name="before"/> (a cursor from the previous page) on.</summary>
    public async Task<(IReadOnlyList<RunState> Runs, string? NextCursor)> ListAsync(string? workflowId, RunStatus? status, int limit, string? before)
    {
        var db = redis.GetDatabase();
        var index = workflowId is null ? AllRuns : WorkflowRuns(workflowId);
        var (maxScore, afterId) = ParseCursor(before);
        var found = new List<RunState>();
        var batchSize = Math.Max(limit * 2, 50);

        while (found.Count < limit)
        {
            var page = await db.SortedSetRangeByScoreWithScoresAsync(index, double.NegativeInfinity, maxScore,
                Exclude.None, Order.Descending, 0, batchSize);
            var candidates = page.SkipWhile(e => e.Score == maxScore && afterId is not null && string.CompareOrdinal(e.Element, afterId) >= 0).ToList();
            if (candidates.Count == 0)
            {
                return (found, null);
            }

            var docs = await Task.WhenAll(candidates.Select(c => db.HashGetAsync(RunKey(c.Element!), "doc")));
            for (var i = 0; i < candidates.Count; i++)
            {
                (maxScore, afterId) = (candidates[i].Score, candidates[i].Element);
                if (docs[i].HasValue)
                {
                    var run = JsonSerializer.Deserialize<RunState>((string)docs[i]!, RunJson.Options)!;
                    if (status is null || run.Status == status)
                    {
                        found.Add(run);
                        if (found.Count == limit)
                        {
                            return (found, $"{maxScore.ToString(System.Globalization.CultureInfo.InvariantCulture)}:{afterId}");
                        }
                    }
                }
            }

            if (page.Length < batchSize)
            {
                return (found, null);
            }
        }

        return (found, null);
    }

    private static (double MaxScore, string? AfterId) ParseCursor(string? cursor)
    {
        if (cursor is null)
        {
            return (double.PositiveInfinity, null);
        }

        var separator = cursor.IndexOf(':', StringComparison.Ordinal);
        return separator > 0 && double.TryParse(cursor[..separator], System.Globalization.CultureInfo.InvariantCulture, out var score)
            ? (score, cursor[(separator + 1)..])
            : throw new FormatException("The cursor is not one this API returned.");
    }
}
