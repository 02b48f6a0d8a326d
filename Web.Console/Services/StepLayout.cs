using Orchestration.Client;

namespace Web.Console.Services;

/// <summary>A step placed in the graph: its level (0 = starts first) and what it waits for.</summary>
public sealed record StepNode(string Id, int Level, IReadOnlyList<string> DependsOn, StepDefinition? Definition, StepRun? Run);

/// <summary>
/// Lays a workflow (or a run of it) out as levels: a step sits one level below the deepest step it waits for, so
/// steps that wait for the same steps (parallel branches) share a level and are drawn side by side.
/// </summary>
public static class StepLayout
{
    public static IReadOnlyList<IReadOnlyList<StepNode>> Levels(WorkflowDefinition? workflow, RunDetails? run)
    {
        var definitions = workflow?.Steps ?? [];
        var runs = run?.Steps ?? [];
        var ids = definitions.Select(d => d.Id).Concat(runs.Select(r => r.Id)).Distinct(StringComparer.Ordinal).ToList();
        var definitionOf = definitions.GroupBy(d => d.Id, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var runOf = runs.GroupBy(r => r.Id, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var known = ids.ToHashSet(StringComparer.Ordinal);

        var dependencies = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        for (var i = 0; i < ids.Count; i++)
        {
            // The run's resolved list wins; a definition's missing dependsOn means "after the previous step".
            var declared = runOf.GetValueOrDefault(ids[i])?.DependsOn ?? definitionOf.GetValueOrDefault(ids[i])?.DependsOn;
            dependencies[ids[i]] = declared is not null
                ? [.. declared.Where(known.Contains)]
                : i > 0 ? [ids[i - 1]] : [];
        }

        var levels = new Dictionary<string, int>(StringComparer.Ordinal);
        int LevelOf(string id, HashSet<string> visiting)
        {
            if (levels.TryGetValue(id, out var level))
            {
                return level;
            }

            // A cycle (the service refuses them; a hand-made definition might not) is cut where it closes.
            if (!visiting.Add(id))
            {
                return 0;
            }

            level = dependencies[id].Count == 0 ? 0 : dependencies[id].Max(d => LevelOf(d, visiting) + 1);
            visiting.Remove(id);
            return levels[id] = level;
        }

        return [.. ids
            .Select(id => new StepNode(id, LevelOf(id, new HashSet<string>(StringComparer.Ordinal)), dependencies[id], definitionOf.GetValueOrDefault(id), runOf.GetValueOrDefault(id)))
            .GroupBy(n => n.Level)
            .OrderBy(g => g.Key)
            .Select(g => (IReadOnlyList<StepNode>)[.. g])];
    }
}
