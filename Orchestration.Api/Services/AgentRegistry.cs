using System.Text.Json;
using Orchestration.Api.Model;
using StackExchange.Redis;

namespace Orchestration.Api.Services;

/// <summary>The agents known to every replica, held in one Redis hash (agent id → JSON).</summary>
public sealed class AgentRegistry(IConnectionMultiplexer redis)
{
    internal const string AgentsKey = "registry:agents";

    public async Task<IReadOnlyList<Agent>> ListAsync()
    {
        var entries = await redis.GetDatabase().HashValuesAsync(AgentsKey);
        return entries
            .Select(e => JsonSerializer.Deserialize<Agent>(e.ToString(), JsonSerializerOptions.Web)!)
            .OrderBy(a => a.Id, StringComparer.Ordinal)
            .ToList();
    }
}
