using System.Text.Json;
using Microsoft.Extensions.Options;
using Orchestration.Api.Model;
using StackExchange.Redis;

namespace Orchestration.Api.Services;

/// <summary>
/// The agents known to every replica. One hash holds each agent's registration, one its last
/// heartbeat (unix ms), one its declared status, so a heartbeat never rewrites a registration.
/// All three share the <c>{agents}</c> hash tag, so the heartbeat script is cluster-safe.
/// </summary>
public sealed class AgentRegistry(IConnectionMultiplexer redis, TimeProvider time, IOptions<OrchestrationOptions> options)
{
    private static readonly RedisKey Registrations = "orch:{agents}";
    private static readonly RedisKey Heartbeats = "orch:{agents}:heartbeats";
    private static readonly RedisKey Statuses = "orch:{agents}:status";

    // Heartbeat only agents that exist, optionally with a new status.
    private static readonly LuaScript HeartbeatScript = LuaScript.Prepare("""
        if redis.call('HEXISTS', @registrations, @id) == 0 then return 0 end
        redis.call('HSET', @heartbeats, @id, @now)
        if @status ~= '' then redis.call('HSET', @statuses, @id, @status) end
        return 1
        """);

    private sealed record StoredAgent(string Id, string Name, IReadOnlyList<string> Capabilities, string Topic,
        IReadOnlyDictionary<string, string> Metadata, int HeartbeatTtlSeconds, DateTimeOffset RegisteredAt, string? Sender = null,
        string? Owner = null);

    /// <summary>
    /// Whether <paramref name="caller"/> may change agent <paramref name="id"/> (issue 9): its owner may, an admin may, and
    /// anyone may while it has no owner (not registered yet, or registered before owners were recorded: the first caller
    /// to register it again claims it).
    /// </summary>
    public async Task<bool> MayChangeAsync(string id, string caller, bool isAdmin)
    {
        if (isAdmin)
        {
            return true;
        }

        var existing = await redis.GetDatabase().HashGetAsync(Registrations, id);
        return !existing.HasValue || Deserialize(existing!).Owner is not { } owner || string.Equals(owner, caller, StringComparison.Ordinal);
    }

    /// <summary>Registers or updates an agent; null when another caller owns it (only its owner or an admin may).</summary>
    public async Task<Agent?> RegisterAsync(AgentRegistration registration, string caller, bool isAdmin)
    {
        var now = time.GetUtcNow();
        var db = redis.GetDatabase();
        var existing = await db.HashGetAsync(Registrations, registration.Id);
        var previous = existing.HasValue ? Deserialize(existing!) : null;
        if (!isAdmin && previous?.Owner is { } owner && !string.Equals(owner, caller, StringComparison.Ordinal))
        {
            return null;
        }

        var registeredAt = previous?.RegisteredAt ?? now;
        var stored = new StoredAgent(
            registration.Id,
            registration.Name,
            registration.Capabilities.Distinct(StringComparer.Ordinal).ToList(),
            string.IsNullOrWhiteSpace(registration.Topic) ? $"agent.{registration.Id}" : registration.Topic,
            registration.Metadata ?? new Dictionary<string, string>(),
            registration.HeartbeatTtlSeconds ?? options.Value.DefaultHeartbeatTtlSeconds,
            registeredAt,
            registration.Sender,
            previous?.Owner ?? caller); // an admin updating someone's agent leaves its owner unchanged

        var batch = db.CreateTransaction();
        // Nobody else registered or took it since we read it (else 409 from the caller's view: try again).
        batch.AddCondition(existing.HasValue ? StackExchange.Redis.Condition.HashEqual(Registrations, registration.Id, existing) : StackExchange.Redis.Condition.HashNotExists(Registrations, registration.Id));
        _ = batch.HashSetAsync(Registrations, registration.Id, JsonSerializer.Serialize(stored, JsonSerializerOptions.Web));
        _ = batch.HashSetAsync(Heartbeats, registration.Id, now.ToUnixTimeMilliseconds());
        _ = batch.HashSetAsync(Statuses, registration.Id, registration.Status ?? AgentStatuses.Active);
        if (!await batch.ExecuteAsync())
        {
            throw new AgentRegistrationConflictException(registration.Id);
        }

        return (await GetAsync(registration.Id))!;
    }

    public async Task<Agent?> HeartbeatAsync(string id, string? status)
    {
        var found = (int)await redis.GetDatabase().ScriptEvaluateAsync(HeartbeatScript, new
        {
            registrations = Registrations,
            heartbeats = Heartbeats,
            statuses = Statuses,
            id,
            now = time.GetUtcNow().ToUnixTimeMilliseconds(),
            status = status ?? "",
        });
        return found == 1 ? await GetAsync(id) : null;
    }

    public async Task<bool> UnregisterAsync(string id)
    {
        var batch = redis.GetDatabase().CreateTransaction();
        var removed = batch.HashDeleteAsync(Registrations, id);
        _ = batch.HashDeleteAsync(Heartbeats, id);
        _ = batch.HashDeleteAsync(Statuses, id);
        await batch.ExecuteAsync();
        return await removed;
    }

    public async Task<Agent?> GetAsync(string id)
    {
        var db = redis.GetDatabase();
        var registration = db.HashGetAsync(Registrations, id);
        var heartbeat = db.HashGetAsync(Heartbeats, id);
        var status = db.HashGetAsync(Statuses, id);
        return (await registration).HasValue ? View(Deserialize((await registration)!), await heartbeat, await status) : null;
    }

    /// <summary>Every agent, optionally only those with a capability and/or an effective status.</summary>
    public async Task<IReadOnlyList<Agent>> ListAsync(string? capability = null, string? status = null)
    {
        var db = redis.GetDatabase();
        var registrations = db.HashGetAllAsync(Registrations);
        var heartbeats = db.HashGetAllAsync(Heartbeats);
        var statuses = db.HashGetAllAsync(Statuses);
        var heartbeatById = (await heartbeats).ToDictionary(e => e.Name.ToString(), e => e.Value);
        var statusById = (await statuses).ToDictionary(e => e.Name.ToString(), e => e.Value);

        return (await registrations)
            .Select(e => Deserialize(e.Value!))
            .Select(a => View(a, heartbeatById.GetValueOrDefault(a.Id), statusById.GetValueOrDefault(a.Id)))
            .Where(a => capability is null || a.Capabilities.Contains(capability, StringComparer.Ordinal))
            .Where(a => status is null || a.Status == status)
            .OrderBy(a => a.Id, StringComparer.Ordinal)
            .ToList();
    }

    private Agent View(StoredAgent agent, RedisValue heartbeat, RedisValue status)
    {
        var last = heartbeat.HasValue ? DateTimeOffset.FromUnixTimeMilliseconds((long)heartbeat) : agent.RegisteredAt;
        var expired = time.GetUtcNow() - last > TimeSpan.FromSeconds(agent.HeartbeatTtlSeconds);
        return new Agent(agent.Id, agent.Name, agent.Capabilities, agent.Topic, agent.Metadata, agent.HeartbeatTtlSeconds,
            expired ? AgentStatuses.Inactive : status.HasValue ? status.ToString() : AgentStatuses.Active,
            agent.RegisteredAt, last, agent.Sender ?? agent.Id);
    }

    private static StoredAgent Deserialize(string json) => JsonSerializer.Deserialize<StoredAgent>(json, JsonSerializerOptions.Web)!;
}

/// <summary>Two registrations of one agent raced; the loser answers 409.</summary>
public sealed class AgentRegistrationConflictException(string id) : Exception($"Agent '{id}' changed while it was being registered.");
