using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Orchestration.Api.Model;
using StackExchange.Redis;

namespace Orchestration.Api.Services;

/// <summary>What a PUT did: stored a new version, found the definition unchanged, or lost to a newer version.</summary>
public enum PutOutcome { Created, Updated, Unchanged, PreconditionFailed }

/// <summary>
/// Workflow definitions with immutable versions. Per workflow one hash <c>orch:wf:{id}</c> (one hash
/// slot): <c>latest</c> (the newest version number), <c>v:&lt;n&gt;</c> (the definition of version n)
/// and <c>h:&lt;n&gt;</c> (its content hash, so a PUT of the same content stores nothing). The newest
/// definition of every workflow is also in <c>orch:workflows</c> (id → JSON) for listing.
/// Versions never change, so this replica caches them.
/// </summary>
public sealed class WorkflowStore(IConnectionMultiplexer redis)
{
    private static readonly RedisKey Latest = "orch:workflows";
    private const int CacheLimit = 1_000;
    private readonly ConcurrentDictionary<(string Id, int Version), WorkflowDefinition> _versions = new();

    // Adds a version if the content changed and the caller's expected version (If-Match) still holds.
    // Returns { outcome, version }: outcome 1 = stored, 0 = unchanged, -1 = precondition failed.
    private const string PutScript = """
        local latest = tonumber(redis.call('HGET', KEYS[1], 'latest') or '0')
        local expected = ARGV[3]
        if expected == 'absent' then
            if latest > 0 then return {0, latest} end
        elseif expected == '*' then
            if latest == 0 then return {-1, 0} end
        elseif expected ~= '' and tonumber(expected) ~= latest then
            return {-1, latest}
        end
        if latest > 0 and redis.call('HGET', KEYS[1], 'h:' .. latest) == ARGV[2] then return {0, latest} end
        local version = latest + 1
        local doc = string.gsub(ARGV[1], '"version":0', '"version":' .. version, 1)
        redis.call('HSET', KEYS[1], 'latest', version, 'v:' .. version, doc, 'h:' .. version, ARGV[2])
        return {1, version}
        """;

    private static RedisKey VersionsKey(string id) => $"orch:wf:{{{id}}}";

    /// <summary>
    /// Stores a new version when the content differs from the newest one. <paramref name="ifMatch"/>:
    /// null = unconditional, a version number = only if that is still the newest, <c>*</c> = only if it exists,
    /// <c>absent</c> = only if the workflow has no version yet.
    /// </summary>
    public async Task<(PutOutcome Outcome, WorkflowDefinition? Workflow)> PutAsync(WorkflowDefinition workflow, string? ifMatch = null)
    {
        await MigrateLegacyAsync(workflow.Id);
        var content = workflow with { Version = null };
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(content, RunJson.Options))));
        var doc = JsonSerializer.Serialize(workflow with { Version = 0 }, RunJson.Options);
        var result = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(PutScript, [VersionsKey(workflow.Id)], [doc, hash, ifMatch ?? ""]))!;
        var outcome = (int)result[0];
        var version = (int)result[1];
        if (outcome < 0)
        {
            return (PutOutcome.PreconditionFailed, null);
        }

        var stored = await GetVersionAsync(workflow.Id, version);
        if (outcome > 0)
        {
            // The listing copy; GET by id reads the versioned hash, so a failure here only delays the listing.
            await redis.GetDatabase().HashSetAsync(Latest, workflow.Id, JsonSerializer.Serialize(stored, RunJson.Options));
        }

        return (outcome == 0 ? PutOutcome.Unchanged : version == 1 ? PutOutcome.Created : PutOutcome.Updated, stored);
    }

    /// <summary>Stores the definition only if no workflow has its id yet.</summary>
    public async Task<bool> AddIfAbsentAsync(WorkflowDefinition workflow) =>
        (await PutAsync(workflow, "absent")).Outcome == PutOutcome.Created;

    /// <summary>The newest version, or null.</summary>
    public async Task<WorkflowDefinition?> GetAsync(string id)
    {
        var latest = await redis.GetDatabase().HashGetAsync(VersionsKey(id), "latest");
        if (!latest.HasValue)
        {
            return await MigrateLegacyAsync(id) ? await GetAsync(id) : null;
        }

        return await GetVersionAsync(id, (int)latest);
    }

    public async Task<WorkflowDefinition?> GetVersionAsync(string id, int version)
    {
        if (_versions.TryGetValue((id, version), out var cached))
        {
            return cached;
        }

        var json = await redis.GetDatabase().HashGetAsync(VersionsKey(id), $"v:{version.ToString(CultureInfo.InvariantCulture)}");
        if (!json.HasValue)
        {
            return null;
        }

        var workflow = JsonSerializer.Deserialize<WorkflowDefinition>((string)json!, RunJson.Options)!;
        if (_versions.Count >= CacheLimit)
        {
            _versions.Clear();
        }

        return _versions.GetOrAdd((id, version), workflow);
    }

    /// <summary>Every version, oldest first.</summary>
    public async Task<IReadOnlyList<WorkflowDefinition>> ListVersionsAsync(string id)
    {
        var latest = await GetAsync(id);
        if (latest?.Version is not { } newest)
        {
            return [];
        }

        var versions = await Task.WhenAll(Enumerable.Range(1, newest).Select(v => GetVersionAsync(id, v)));
        return versions.OfType<WorkflowDefinition>().ToList();
    }

    public async Task<IReadOnlyList<WorkflowDefinition>> ListAsync() =>
        (await redis.GetDatabase().HashValuesAsync(Latest))
            .Select(v => JsonSerializer.Deserialize<WorkflowDefinition>((string)v!, RunJson.Options)!)
            .OrderBy(w => w.Id, StringComparer.Ordinal)
            .ToList();

    /// <summary>A definition stored before versions existed (only in the listing hash) becomes version 1.</summary>
    private async Task<bool> MigrateLegacyAsync(string id)
    {
        var db = redis.GetDatabase();
        if (await db.KeyExistsAsync(VersionsKey(id)))
        {
            return false;
        }

        var legacy = await db.HashGetAsync(Latest, id);
        if (!legacy.HasValue || JsonSerializer.Deserialize<WorkflowDefinition>((string)legacy!, RunJson.Options) is not { } workflow)
        {
            return false;
        }

        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(workflow with { Version = null }, RunJson.Options))));
        await db.ScriptEvaluateAsync(PutScript, [VersionsKey(id)], [JsonSerializer.Serialize(workflow with { Version = 0 }, RunJson.Options), hash, "absent"]);
        return true;
    }
}
