using System.Globalization;
using Orchestration.Api.Model;

namespace Orchestration.Api.Services;

/// <summary>
/// Checks a definition's <c>workflow</c> steps against the stored workflows at PUT: the child workflow (and
/// version) exists, no chain of child runs leads back to the workflow being stored, and the deepest chain
/// fits <c>Orchestration:MaxWorkflowDepth</c>. Chains follow the version a step names, else the newest one;
/// a later PUT of a child can still deepen a chain, so the engine checks the depth again when it starts a child.
/// </summary>
public static class WorkflowReferences
{
    /// <summary>Stop following chains after this many definitions (a guard, far above any real graph).</summary>
    private const int MaxVisited = 1_000;

    public static async Task<Dictionary<string, string[]>> CheckAsync(WorkflowDefinition workflow, WorkflowStore store, int maxDepth)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var depths = new Dictionary<(string Id, int? Version), int>();
        var visited = 0;
        for (var i = 0; i < workflow.Steps.Count; i++)
        {
            var step = workflow.Steps[i];
            if (step.Type != StepType.Workflow || step.Workflow is not { } childId || childId == workflow.Id)
            {
                continue;
            }

            var child = await LoadAsync(store, childId, step.WorkflowVersion);
            if (child is null)
            {
                var (field, what) = step.WorkflowVersion is { } v
                    ? ("workflowVersion", $"Workflow '{childId}' has no version {v.ToString(CultureInfo.InvariantCulture)}.")
                    : ("workflow", $"No workflow '{childId}' is stored; store it first.");
                errors[$"steps[{i}].{field}"] = [what];
                continue;
            }

            var path = new List<string> { workflow.Id, childId };
            var (depth, cycle) = await DepthAsync(child, store, path, depths, () => ++visited > MaxVisited);
            if (cycle is not null)
            {
                errors[$"steps[{i}].workflow"] = [$"Child runs would recurse without end: {string.Join(" → ", cycle)}."];
            }
            else if (depth + 1 > maxDepth)
            {
                errors[$"steps[{i}].workflow"] = [$"Child runs would nest {(depth + 1).ToString(CultureInfo.InvariantCulture)} deep through '{childId}', over the limit of {maxDepth.ToString(CultureInfo.InvariantCulture)} (Orchestration:MaxWorkflowDepth)."];
            }
        }

        return errors;
    }

    private static Task<WorkflowDefinition?> LoadAsync(WorkflowStore store, string id, int? version) =>
        version is { } v ? store.GetVersionAsync(id, v) : store.GetAsync(id);

    /// <summary>How many levels of child runs a run of <paramref name="workflow"/> starts below itself; or the cycle it leads into.</summary>
    private static async Task<(int Depth, List<string>? Cycle)> DepthAsync(WorkflowDefinition workflow, WorkflowStore store, List<string> path,
        Dictionary<(string Id, int? Version), int> known, Func<bool> overBudget)
    {
        var deepest = 0;
        foreach (var step in workflow.Steps.Where(s => s.Type == StepType.Workflow && s.Workflow is not null))
        {
            var childId = step.Workflow!;
            if (path.Contains(childId, StringComparer.Ordinal))
            {
                return (0, [.. path, childId]);
            }

            if (!known.TryGetValue((childId, step.WorkflowVersion), out var childDepth))
            {
                if (overBudget() || await LoadAsync(store, childId, step.WorkflowVersion) is not { } child)
                {
                    // Missing below the first level: that workflow's own PUT was checked; its start will fail the step clearly.
                    continue;
                }

                path.Add(childId);
                var (depth, cycle) = await DepthAsync(child, store, path, known, overBudget);
                path.RemoveAt(path.Count - 1);
                if (cycle is not null)
                {
                    return (0, cycle);
                }

                known[(childId, step.WorkflowVersion)] = childDepth = depth;
            }

            deepest = Math.Max(deepest, childDepth + 1);
        }

        return (deepest, null);
    }
}
