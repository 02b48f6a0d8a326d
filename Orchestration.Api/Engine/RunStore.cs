using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Orchestration.Api.Model;
using Orchestration.Api.Services;
using StackExchange.Redis;

namespace Orchestration.Api.Engine;

/// <summary>A run as loaded, and the version a commit must match.</summary>
public sealed record StoredRun(RunState State, long Version);

/// <summary>A due run claimed by this replica: the lease and the schedule generation it saw.</summary>
public sealed record ClaimedWakeup(string RunId, long Generation, DateTimeOffset LeaseUntil);

/// <summary>
/// Durable run state in Redis. Per run, all under the run's hash tag (so one script may touch them):
/// <c>orch:run:{id}</c> (hash: <c>v</c> version, <c>doc</c> the small core state, <c>input</c>,
/// <c>output</c>, and <c>out:&lt;step&gt;</c> per step output — each written once, when it is set),
/// <c>orch:run:{id}:attempts</c> (hash: <c>&lt;step&gt;:&lt;n&gt;</c> per attempt, written when it changes),
/// <c>orch:run:{id}:events</c> (stream: the event history) and <c>orch:run:{id}:outbox</c> (hash: tasks
/// stored but not yet confirmed sent). A transition writes the core document and what it changed,
/// never the whole run. Shared keys are sharded over <c>Orchestration:KeyShards</c> slots, a run
/// always in shard <c>fnv1a(runId) mod shards</c>: <c>orch:{wakeups:s}</c> (sorted set: when to look
/// at a run again) with <c>orch:{wakeups:s}:gen</c> (how often each run was scheduled, so a replica
/// never overwrites a newer schedule with a stale one), <c>orch:{runs:s}</c> and
/// <c>orch:runs:wf:{workflow:s}</c> (sorted sets: runs by creation time).
/// </summary>
public sealed class RunStore(IConnectionMultiplexer redis, WorkflowStore workflows, IOptions<OrchestrationOptions> options)
{
    public static readonly RedisChannel EventsChannel = RedisChannel.Literal("orch:run-events");

    /// <summary>How many entries one listing request may scan before it returns a cursor.</summary>
    private const int ListScanBudget = 2_000;

    // Compare-and-set the core state, write the changed fields, attempts and outbox, append the
    // events, atomically. KEYS: run, attempts, outbox, events. ARGV: expected version, ttl, then
    // counts of field pairs, attempt pairs, outbox pairs and events, then those items.
    private const string CommitScript = """
        local current = redis.call('HGET', KEYS[1], 'v')
        if (current or '0') ~= ARGV[1] then return 0 end
        local version = tonumber(ARGV[1]) + 1
        redis.call('HSET', KEYS[1], 'v', version)
        local fields, attempts, outbox, events = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
        local i = 7
        for _ = 1, fields do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]); i = i + 2 end
        for _ = 1, attempts do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]); i = i + 2 end
        for _ = 1, outbox do redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]); i = i + 2 end
        for _ = 1, events do redis.call('XADD', KEYS[4], '*', 'e', ARGV[i]); i = i + 1 end
        local ttl = tonumber(ARGV[2])
        if ttl > 0 then
            for k = 1, 4 do redis.call('PEXPIRE', KEYS[k], ttl) end
        end
        return version
        """;

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

    private int Shards => options.Value.KeyShards;

    private static RedisKey RunKey(string runId) => $"orch:run:{{{runId}}}";

    private static RedisKey AttemptsKey(string runId) => $"orch:run:{{{runId}}}:attempts";

    private static RedisKey EventsKey(string runId) => $"orch:run:{{{runId}}}:events";

    private static RedisKey OutboxKey(string runId) => $"orch:run:{{{runId}}}:outbox";

    private static RedisKey Wakeups(int shard) => $"orch:{{wakeups:{shard.ToString(CultureInfo.InvariantCulture)}}}";

    private static RedisKey Generations(int shard) => $"orch:{{wakeups:{shard.ToString(CultureInfo.InvariantCulture)}}}:gen";

    private static RedisKey AllRuns(int shard) => $"orch:{{runs:{shard.ToString(CultureInfo.InvariantCulture)}}}";

    private static RedisKey WorkflowRuns(string workflowId, int shard) => $"orch:runs:wf:{{{workflowId}:{shard.ToString(CultureInfo.InvariantCulture)}}}";

    /// <summary>The shard of a run's entries in the shared keys.</summary>
    public int ShardOf(string runId)
    {
        // FNV-1a: stable across processes and versions (string.GetHashCode is randomized per process).
        var hash = 2166136261u;
        foreach (var c in runId)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return (int)(hash % (uint)Shards);
    }

    public async Task<StoredRun?> LoadAsync(string runId)
    {
        var entries = await redis.GetDatabase().HashGetAllAsync(RunKey(runId));
        string? doc = null;
        long version = 0;
        JsonElement input = default;
        JsonElement? output = null;
        Dictionary<string, JsonElement>? outputs = null;
        foreach (var entry in entries)
        {
            var name = (string)entry.Name!;
            switch (name)
            {
                case "v":
                    version = (long)entry.Value;
                    break;
                case "doc":
                    doc = entry.Value;
                    break;
                case "input":
                    input = Parse(entry.Value);
                    break;
                case "output":
                    output = Parse(entry.Value);
                    break;
                default:
                    if (name.StartsWith("out:", StringComparison.Ordinal))
                    {
                        (outputs ??= new(StringComparer.Ordinal))[name[4..]] = Parse(entry.Value);
                    }

                    break;
            }
        }

        if (doc is null)
        {
            return null;
        }

        var state = JsonSerializer.Deserialize<RunState>(doc, RunJson.Options)!;
        state.Input = input;
        state.Output = output;
        foreach (var step in state.Steps.Where(_ => outputs is not null))
        {
            if (outputs!.TryGetValue(step.Id, out var stepOutput))
            {
                step.Output = stepOutput;
            }

            foreach (var item in step.Items ?? [])
            {
                if (outputs.TryGetValue(RunState.ItemId(step.Id, item.Index), out var itemOutput))
                {
                    item.Output = itemOutput;
                }
            }
        }

        state.Workflow = await workflows.GetVersionAsync(state.WorkflowId, state.WorkflowVersion)
            ?? throw new InvalidOperationException($"Run {runId} names workflow '{state.WorkflowId}' version {state.WorkflowVersion}, which is not stored.");
        return new StoredRun(state, version);
    }

    /// <summary>Every attempt of the run by step, oldest first (for the run view; the engine never reads them).</summary>
    public async Task<IReadOnlyDictionary<string, List<AttemptState>>> LoadAttemptsAsync(string runId)
    {
        var byStep = new Dictionary<string, List<AttemptState>>(StringComparer.Ordinal);
        foreach (var entry in await redis.GetDatabase().HashGetAllAsync(AttemptsKey(runId)))
        {
            var name = (string)entry.Name!;
            var separator = name.LastIndexOf(':');
            if (separator <= 0)
            {
                continue;
            }

            if (!byStep.TryGetValue(name[..separator], out var list))
            {
                byStep[name[..separator]] = list = [];
            }

            list.Add(JsonSerializer.Deserialize<AttemptState>((string)entry.Value!, RunJson.Options)!);
        }

        foreach (var list in byStep.Values)
        {
            list.Sort((a, b) => a.Number.CompareTo(b.Number));
        }

        return byStep;
    }

    /// <summary>Stores the transition if the run is still at <paramref name="expectedVersion"/> (0 = new run).</summary>
    public async Task<long?> CommitAsync(RunTransition transition, long expectedVersion, TimeSpan? expireAfter)
    {
        var state = transition.State;
        var fields = new List<RedisValue> { "doc", JsonSerializer.Serialize(state, RunJson.Options) };
        if (expectedVersion == 0)
        {
            fields.Add("input");
            fields.Add(state.Input.GetRawText());
        }

        if (transition.RunOutput && state.Output is { } runOutput)
        {
            fields.Add("output");
            fields.Add(runOutput.GetRawText());
        }

        foreach (var unitId in transition.Outputs)
        {
            if (state.OutputOf(unitId) is { } unitOutput)
            {
                fields.Add($"out:{unitId}");
                fields.Add(unitOutput.GetRawText());
            }
        }

        var attempts = new List<RedisValue>();
        foreach (var (stepId, attempt) in transition.Attempts.DistinctBy(a => (a.StepId, a.Attempt.Number)))
        {
            attempts.Add($"{stepId}:{attempt.Number.ToString(CultureInfo.InvariantCulture)}");
            attempts.Add(JsonSerializer.Serialize(attempt, RunJson.Options));
        }

        var outbox = transition.Dispatches.SelectMany(d => new RedisValue[] { d.MessageId, JsonSerializer.Serialize(d, RunJson.Options) })
            .Concat(transition.Commands.SelectMany(c => new RedisValue[] { c.OutboxKey, JsonSerializer.Serialize(c, RunJson.Options) }))
            .ToList();
        var events = transition.Events.Select(e => (RedisValue)JsonSerializer.Serialize(e, RunJson.Options)).ToList();
        var args = new List<RedisValue>(6 + fields.Count + attempts.Count + outbox.Count + events.Count)
        {
            expectedVersion.ToString(CultureInfo.InvariantCulture),
            (long)(expireAfter?.TotalMilliseconds ?? 0),
            fields.Count / 2,
            attempts.Count / 2,
            outbox.Count / 2,
            events.Count,
        };
        args.AddRange(fields);
        args.AddRange(attempts);
        args.AddRange(outbox);
        args.AddRange(events);

        var result = await redis.GetDatabase().ScriptEvaluateAsync(CommitScript,
            [RunKey(state.RunId), AttemptsKey(state.RunId), OutboxKey(state.RunId), EventsKey(state.RunId)], [.. args]);
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
        await redis.GetDatabase().SortedSetScoreAsync(AllRuns(ShardOf(runId)), runId) is not null;

    /// <summary>Adds a new run to the listings (before its first commit: listings skip runs not stored yet).</summary>
    public async Task IndexAsync(RunState run, TimeSpan retention)
    {
        var db = redis.GetDatabase();
        var shard = ShardOf(run.RunId);
        var created = run.CreatedAt.ToUnixTimeMilliseconds();
        var oldest = created - (long)retention.TotalMilliseconds;
        var batch = db.CreateBatch();
        var tasks = new List<Task>
        {
            batch.SortedSetAddAsync(AllRuns(shard), run.RunId, created, When.NotExists),
            batch.SortedSetAddAsync(WorkflowRuns(run.WorkflowId, shard), run.RunId, created, When.NotExists),
            batch.SortedSetRemoveRangeByScoreAsync(AllRuns(shard), double.NegativeInfinity, oldest),
            batch.SortedSetRemoveRangeByScoreAsync(WorkflowRuns(run.WorkflowId, shard), double.NegativeInfinity, oldest),
        };
        batch.Execute();
        await Task.WhenAll(tasks);
    }

    /// <summary>The tasks and commands stored with transitions and not yet confirmed done.</summary>
    public async Task<(IReadOnlyList<TaskDispatch> Tasks, IReadOnlyList<RunCommand> Commands)> PendingOutboxAsync(string runId)
    {
        var tasks = new List<TaskDispatch>();
        var commands = new List<RunCommand>();
        foreach (var entry in await redis.GetDatabase().HashGetAllAsync(OutboxKey(runId)))
        {
            if (((string)entry.Name!).StartsWith("cmd:", StringComparison.Ordinal))
            {
                commands.Add(JsonSerializer.Deserialize<RunCommand>((string)entry.Value!, RunJson.Options)!);
            }
            else
            {
                tasks.Add(JsonSerializer.Deserialize<TaskDispatch>((string)entry.Value!, RunJson.Options)!);
            }
        }

        return (tasks, commands);
    }

    public Task ConfirmSentAsync(string runId, IEnumerable<string> messageIds) =>
        redis.GetDatabase().HashDeleteAsync(OutboxKey(runId), messageIds.Select(id => (RedisValue)id).ToArray());

    /// <summary>Asks to look at the run again at <paramref name="due"/> (never later than an earlier request).</summary>
    public Task ScheduleAsync(string runId, DateTimeOffset due)
    {
        var shard = ShardOf(runId);
        return redis.GetDatabase().ScriptEvaluateAsync(ScheduleScript, new { wakeups = Wakeups(shard), generations = Generations(shard), runId, due = due.ToUnixTimeMilliseconds() });
    }

    public async Task UnscheduleAsync(string runId)
    {
        var shard = ShardOf(runId);
        var batch = redis.GetDatabase().CreateTransaction();
        _ = batch.SortedSetRemoveAsync(Wakeups(shard), runId);
        _ = batch.HashDeleteAsync(Generations(shard), runId);
        await batch.ExecuteAsync();
    }

    /// <summary>Claims due runs from every shard (up to <paramref name="max"/> per shard).</summary>
    public async Task<IReadOnlyList<ClaimedWakeup>> ClaimDueAsync(DateTimeOffset now, DateTimeOffset leaseUntil, int max)
    {
        var db = redis.GetDatabase();
        var perShard = await Task.WhenAll(Enumerable.Range(0, Shards).Select(shard => db.ScriptEvaluateAsync(ClaimScript, new
        {
            wakeups = Wakeups(shard),
            generations = Generations(shard),
            now = now.ToUnixTimeMilliseconds(),
            leaseUntil = leaseUntil.ToUnixTimeMilliseconds(),
            max,
        })));
        var claimed = new List<ClaimedWakeup>();
        foreach (var flat in perShard.Select(r => (RedisResult[])r!))
        {
            for (var i = 0; i + 1 < flat.Length; i += 2)
            {
                claimed.Add(new ClaimedWakeup((string)flat[i]!, long.Parse((string)flat[i + 1]!, CultureInfo.InvariantCulture), leaseUntil));
            }
        }

        return claimed;
    }

    public Task ReleaseAsync(ClaimedWakeup wakeup, DateTimeOffset now, DateTimeOffset? next)
    {
        var shard = ShardOf(wakeup.RunId);
        return redis.GetDatabase().ScriptEvaluateAsync(ReleaseScript, new
        {
            wakeups = Wakeups(shard),
            generations = Generations(shard),
            runId = wakeup.RunId,
            claimed = wakeup.Generation.ToString(CultureInfo.InvariantCulture),
            leaseUntil = wakeup.LeaseUntil.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture),
            now = now.ToUnixTimeMilliseconds(),
            next = next?.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) ?? "",
        });
    }

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

    /// <summary>Runs newest first, from <paramref name="before"/> (a cursor from the previous page) on; merged over the index shards.</summary>
    public async Task<(IReadOnlyList<RunState> Runs, string? NextCursor)> ListAsync(string? workflowId, RunStatus? status, int limit, string? before)
    {
        var db = redis.GetDatabase();
        var indexes = Enumerable.Range(0, Shards).Select(s => workflowId is null ? AllRuns(s) : WorkflowRuns(workflowId, s)).ToList();
        var (maxScore, afterId) = ParseCursor(before);
        var found = new List<RunState>();
        var batchSize = Math.Max(limit * 2, 50);
        var scanned = 0;

        while (found.Count < limit)
        {
            if (scanned >= ListScanBudget)
            {
                // A rare status filter could otherwise scan days of runs in one request.
                return (found, Cursor(maxScore, afterId));
            }

            // Newest first over every shard: the same order (score, then id descending) as one sorted set.
            var pages = await Task.WhenAll(indexes.Select(index => db.SortedSetRangeByScoreWithScoresAsync(index, double.NegativeInfinity, maxScore,
                Exclude.None, Order.Descending, 0, batchSize)));
            var (cutScore, cutId) = (maxScore, afterId);
            var candidates = pages
                .SelectMany(p => p)
                .Where(e => !(e.Score == cutScore && cutId is not null && string.CompareOrdinal(e.Element, cutId) >= 0))
                .OrderByDescending(e => e.Score).ThenByDescending(e => (string)e.Element!, StringComparer.Ordinal)
                .Take(batchSize)
                .ToList();
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
                            return (found, Cursor(maxScore, afterId));
                        }
                    }
                }
            }

            if (pages.All(p => p.Length < batchSize) && candidates.Count < batchSize)
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
            && !(parts.Length == 2 && parts[0] == ulong.MaxValue.ToString(CultureInfo.InvariantCulture));
    }

    private static JsonElement Parse(RedisValue value)
    {
        using var document = JsonDocument.Parse((ReadOnlyMemory<byte>)value, new JsonDocumentOptions { MaxDepth = RunJson.Options.MaxDepth });
        return document.RootElement.Clone();
    }

    private static string Cursor(double score, string? afterId) => $"{score.ToString(CultureInfo.InvariantCulture)}:{afterId}";

    private static (double MaxScore, string? AfterId) ParseCursor(string? cursor)
    {
        if (cursor is null)
        {
            return (double.PositiveInfinity, null);
        }

        var separator = cursor.IndexOf(':', StringComparison.Ordinal);
        return separator > 0 && double.TryParse(cursor[..separator], NumberStyles.Float, CultureInfo.InvariantCulture, out var score)
            && double.IsFinite(score)
            ? (score, cursor[(separator + 1)..])
            : throw new FormatException("The cursor is not one this API returned.");
    }
}
