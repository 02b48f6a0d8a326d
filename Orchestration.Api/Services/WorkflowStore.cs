using System.Text.Json;
using Orchestration.Api.Model;
using StackExchange.Redis;

namespace Orchestration.Api.Services;

/// <summary>Workflow definitions, one Redis hash (id → JSON) shared by every replica.</summary>
public sealed class WorkflowStore(IConnectionMultiplexer redis)
{
    private static readonly RedisKey Workflows = "orch:workflows";

    /// <summary>Stores the definition; returns true when it was new.</summary>
    public async Task<bool> SaveAsync(WorkflowDefinition workflow) =>
        await redis.GetDatabase().HashSetAsync(Workflows, workflow.Id, JsonSerializer.Serialize(workflow, RunJson.Options));

    /// <summary>Stores the definition only if no workflow has its id yet.</summary>
    public Task<bool> AddIfAbsentAsync(WorkflowDefinition workflow) =>
        redis.GetDatabase().HashSetAsync(Workflows, workflow.Id, JsonSerializer.Serialize(workflow, RunJson.Options), When.NotExists);

    public async Task<WorkflowDefinition?> GetAsync(string id)
    {
        var json = await redis.GetDatabase().HashGetAsync(Workflows, id);
        return json.HasValue ? JsonSerializer.Deserialize<WorkflowDefinition>((string)json!, RunJson.Options) : null;
    }

    public async Task<IReadOnlyList<WorkflowDefinition>> ListAsync() =>
        (await redis.GetDatabase().HashValuesAsync(Workflows))
            .Select(v => JsonSerializer.Deserialize<WorkflowDefinition>((string)v!, RunJson.Options)!)
            .OrderBy(w => w.Id, StringComparer.Ordinal)
            .ToList();
}
