using System.Text.Json;
using Orchestration.Api.Model;
using StackExchange.Redis;

namespace Orchestration.Api.Engine;

/// <summary>A run as loaded: its state, the version a commit must match, and its stored JSON.</summary>
public sealed record StoredRun(RunState State, long Version, string Json)
{
    /// <summary>Another copy of the stored state (the reducer changes the one it is given).</summary>
    public RunState Fresh() => JsonSerializer.Deserialize<RunState>(Json, RunJson.Options)!;
}

/// <summary>A due run claimed by this replica: the lease and the schedule generation it saw.</summary>
public sealed record ClaimedWakeup(string RunId, long Generation, DateTimeOffset LeaseUntil);

/// <summary>
/// Durable run state in Redis. Per run (all under the run's hash tag, so one script may touch them):
/// <c>orch:run:{id}</c> (hash: version + JSON state), <c>orch:run:{id}:events</c> (stream: the event
/// history) and <c>orch:run:{id}:outbox</c> (hash: tasks stored but not yet confirmed sent). Shared:
/// <c>orch:{wakeups}</c> (sorted set: when to look at a run again) with <c>orch:{wakeups}:gen</c> (how
/// often each run was scheduled, so a replica never overwrites a newer schedule with a stale one),
/// <c>orch:runs</c> and <c>orch:runs:wf:{workflow}</c> (sorted sets: runs by creation time).
/// </summary>
public sealed class RunStore(IConnectionMultiplexer redis)
{
    public static readonly RedisChannel EventsChannel = RedisChannel.Literal("orch:run-events");
    private static readonly RedisKey Wakeups = "orch:{wakeups}";
    private static readonly RedisKey Generations = "orch:{wakeups}:gen";
    private static readonly RedisKey AllRuns = "orch:runs";

    /// <summary>How many entries one listing request may scan before it returns a cursor.</summary>
    private const int ListScanBudget = 2_000;

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

    // Ask to look at a run at a time (never later than an earlier request), and count the request.
    private static readonly LuaScript ScheduleScript = LuaScript.Prepare("""
        redis.call('ZADD', @wakeups, 'LT', @due, @runId)
        return redis.call('HINCRBY', @generations, @runId, 1)
        """);

    // Take the due runs and push each one's wakeup to the end of the lease: if this replica dies,
    // another sees the run again when the lease ends. Returns run id, generation pairs.
    private static readonly LuaScript ClaimScript = LuaScript.Prepare("""
        local due = redis.call('ZRANGEBYSCORE', @wakeups, '-inf', @now, 'LIMIT', 0, @max)
        local claimed = {}
        for i = 1, #due do
            redis.call('ZADD', @wakeups, 'XX', @leaseUntil, due[i])
            claimed[#claimed + 1] = due[i]
            claimed[#claimed + 1] = redis.call('HGET', @generations, due[i]) or '0'
        end
        return claimed
        """);

    // Release a claimed wakeup. If nobody scheduled the run since the claim, the next time computed
    // by this replica stands (or the wakeup goes, for an ended run). If somebody did, their time
    // came from a newer state: keep it, and if their request changed nothing (it was later than our
    // lease) look again now rather than trust a time computed from an older state.
    private static readonly LuaScript ReleaseScript = LuaScript.Prepare("""
        local generation = redis.call('HGET', @generations, @runId) or '0'
        if generation == @claimed then
            if @next == '' then
                redis.call('ZREM', @wakeups, @runId)
                redis.call('HDEL', @generations, @runId)
            else
                redis.call('ZADD', @wakeups, 'XX', @next, @runId)
            end
        elseif redis.call('ZSCORE', @wakeups, @runId) == @leaseUntil then
            redis.call('ZADD', @wakeups, 'XX', @now, @runId)
        end
        return 1
        """);

    private static RedisKey RunKey(string runId) => $"orch:run:{{{runId}}}";

    private static RedisKey EventsKey(string runId) => $"orch:run:{{{runId}}}:events";

    private static RedisKey OutboxKey(string runId) => $"orch:run:{{{runId}}}:outbox";

    private static RedisKey WorkflowRuns(string workflowId) => $"orch:runs:wf:{workflowId}";

    public async Task<StoredRun?> LoadAsync(string runId)
    {
        var values = await redis.GetDatabase().HashGetAsync(RunKey(runId), ["v", "doc"]);
        if (!values[1].HasValue)
        {
            return null;
        }

        var json = (string)values[1]!;
        return new StoredRun(JsonSerializer.Deserialize<RunState>(json, RunJson.Options)!, (long)values[0], json);
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

    public async Task<bool> IsIndexedAsync(string runId) =>
        await redis.GetDatabase().SortedSetScoreAsync(AllRuns, runId) is not null;

    /// <summary>Adds a new run to the listings (before its first commit: listings skip runs not stored yet).</summary>
    public async Task IndexAsync(RunState run, TimeSpan retention)
    {
        var db = redis.GetDatabase();
        var created = run.CreatedAt.ToUnixTimeMilliseconds();
        var oldest = created - (long)retention.TotalMilliseconds;
        var batch = db.CreateBatch();
        var tasks = new List<Task>
        {
            batch.SortedSetAddAsync(AllRuns, run.RunId, created, When.NotExists),
            batch.SortedSetAddAsync(WorkflowRuns(run.Workflow.Id), run.RunId, created, When.NotExists),
            batch.SortedSetRemoveRangeByScoreAsync(AllRuns, double.NegativeInfinity, oldest),
            batch.SortedSetRemoveRangeByScoreAsync(WorkflowRuns(run.Workflow.Id), double.NegativeInfinity, oldest),
        };
        batch.Execute();
        await Task.WhenAll(tasks);
    }

    public async Task<IReadOnlyList<TaskDispatch>> PendingOutboxAsync(string runId) =>
        (await redis.GetDatabase().HashValuesAsync(OutboxKey(runId)))
            .Select(v => JsonSerializer.Deserialize<TaskDispatch>((string)v!, RunJson.Options)!)
            .ToList();

    public Task ConfirmSentAsync(string runId, IEnumerable<string> messageIds) =>
        redis.GetDatabase().HashDeleteAsync(OutboxKey(runId), messageIds.Select(id => (RedisValue)id).ToArray());

    /// <summary>Asks to look at the run again at <paramref name="due"/> (never later than an earlier request).</summary>
    public Task ScheduleAsync(string runId, DateTimeOffset due) =>
        redis.GetDatabase().ScriptEvaluateAsync(ScheduleScript, new { wakeups = Wakeups, generations = Generations, runId, due = due.ToUnixTimeMilliseconds() });

    public async Task UnscheduleAsync(string runId)
    {
        var batch = redis.GetDatabase().CreateTransaction();
        _ = batch.SortedSetRemoveAsync(Wakeups, runId);
        _ = batch.HashDeleteAsync(Generations, runId);
        await batch.ExecuteAsync();
    }

    public async Task<IReadOnlyList<ClaimedWakeup>> ClaimDueAsync(DateTimeOffset now, DateTimeOffset leaseUntil, int max)
    {
        var flat = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(ClaimScript, new
        {
            wakeups = Wakeups,
            generations = Generations,
            now = now.ToUnixTimeMilliseconds(),
            leaseUntil = leaseUntil.ToUnixTimeMilliseconds(),
            max,
        }))!;
        var claimed = new List<ClaimedWakeup>(flat.Length / 2);
        for (var i = 0; i + 1 < flat.Length; i += 2)
        {
            claimed.Add(new ClaimedWakeup((string)flat[i]!, long.Parse((string)flat[i + 1]!, System.Globalization.CultureInfo.InvariantCulture), leaseUntil));
        }

        return claimed;
    }

    public Task ReleaseAsync(ClaimedWakeup wakeup, DateTimeOffset now, DateTimeOffset? next) =>
        redis.GetDatabase().ScriptEvaluateAsync(ReleaseScript, new
        {
            wakeups = Wakeups,
            generations = Generations,
            runId = wakeup.RunId,
            claimed = wakeup.Generation.ToString(System.Globalization.CultureInfo.InvariantCulture),
            leaseUntil = wakeup.LeaseUntil.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
            now = now.ToUnixTimeMilliseconds(),
            next = next?.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "",
        });

    /// <summary>Drops outbox entries that no longer matter (attempts that ended, runs that moved on).</summary>
    public Task DiscardOutboxAsync(string runId, IEnumerable<string> messageIds) => ConfirmSentAsync(runId, messageIds);

    /// <summary>Events after <paramref name="afterId"/> (stream entry ids; "0" for all), oldest first.</summary>
    public async Task<IReadOnlyList<(string Id, RunEvent Event)>> ReadEventsAsync(string runId, string afterId, int count = 500)
    {
        if (!IsStreamId(afterId))
        {
            throw new FormatException($"'{afterId}' is not an event id this API returned.");
        }

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
        var scanned = 0;

        while (found.Count < limit)
        {
            if (scanned >= ListScanBudget)
            {
                // A rare status filter could otherwise scan days of runs in one request.
                return (found, $"{maxScore.ToString(System.Globalization.CultureInfo.InvariantCulture)}:{afterId}");
            }

            var page = await db.SortedSetRangeByScoreWithScoresAsync(index, double.NegativeInfinity, maxScore,
                Exclude.None, Order.Descending, 0, batchSize);
            var candidates = page.SkipWhile(e => e.Score == maxScore && afterId is not null && string.CompareOrdinal(e.Element, afterId) >= 0).ToList();
            if (candidates.Count == 0)
            {
                return (found, null);
            }

            scanned += candidates.Count;
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

    /// <summary>A Redis stream entry id: <c>ms</c> or <c>ms-seq</c>, both below 2^64.</summary>
    public static bool IsStreamId(string id)
    {
        var parts = id.Split('-');
        return parts.Length is 1 or 2 && parts.All(p => p.Length is > 0 and <= 19 && p.All(char.IsAsciiDigit) && ulong.TryParse(p, out _))
            && !(parts.Length == 2 && parts[0] == ulong.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    private static (double MaxScore, string? AfterId) ParseCursor(string? cursor)
    {
        if (cursor is null)
        {
            return (double.PositiveInfinity, null);
        }

        var separator = cursor.IndexOf(':', StringComparison.Ordinal);
        return separator > 0 && double.TryParse(cursor[..separator], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var score)
            && double.IsFinite(score)
            ? (score, cursor[(separator + 1)..])
            : throw new FormatException("The cursor is not one this API returned.");
    }
}
