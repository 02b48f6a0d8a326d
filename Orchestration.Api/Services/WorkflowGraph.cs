using System.Runtime.CompilerServices;
using Orchestration.Api.Model;

namespace Orchestration.Api.Services;

/// <summary>
/// A definition's steps as a graph: each step's dependencies (explicit <c>dependsOn</c>, else the
/// previous step), its ancestors, and its parsed condition. Built once per definition object and
/// cached beside it (definitions are immutable per version).
/// </summary>
public sealed class WorkflowGraph
{
    private static readonly ConditionalWeakTable<WorkflowDefinition, WorkflowGraph> Cache = [];

    private WorkflowGraph(WorkflowDefinition workflow)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < workflow.Steps.Count; i++)
        {
            index.TryAdd(workflow.Steps[i]?.Id ?? "", i);
        }

        Index = index;
        Dependencies = workflow.Steps.Select((step, i) => step?.DependsOn is { } explicitDeps
            ? explicitDeps.Select(d => index.GetValueOrDefault(d ?? "", -1)).Distinct().ToArray()
            : i == 0 ? [] : new[] { i - 1 }).ToArray();
        Conditions = workflow.Steps.Select(step => step?.When is { } text && Condition.TryParse(text, out var c, out _) ? c : null).ToArray();
        Cycle = FindCycle();
        Ancestors = Cycle is null ? ComputeAncestors() : workflow.Steps.Select(_ => new HashSet<int>()).ToArray();
    }

    public IReadOnlyDictionary<string, int> Index { get; }

    /// <summary>Per step, the indexes of the steps it depends on (-1 for an unknown id).</summary>
    public int[][] Dependencies { get; }

    /// <summary>Per step, every step it transitively depends on.</summary>
    public HashSet<int>[] Ancestors { get; }

    public Condition?[] Conditions { get; }

    /// <summary>A step on a dependency cycle, if there is one.</summary>
    public int? Cycle { get; }

    public static WorkflowGraph Of(WorkflowDefinition workflow) => Cache.GetValue(workflow, w => new WorkflowGraph(w));

    private int? FindCycle()
    {
        // 0 = unvisited, 1 = on the stack, 2 = done.
        var state = new int[Dependencies.Length];
        for (var start = 0; start < Dependencies.Length; start++)
        {
            if (state[start] != 0)
            {
                continue;
            }

            var stack = new Stack<(int Node, int Next)>();
            stack.Push((start, 0));
            state[start] = 1;
            while (stack.Count > 0)
            {
                var (node, next) = stack.Pop();
                var deps = Dependencies[node];
                if (next < deps.Length)
                {
                    stack.Push((node, next + 1));
                    var dep = deps[next];
                    if (dep < 0)
                    {
                        continue;
                    }

                    if (state[dep] == 1)
                    {
                        return dep;
                    }

                    if (state[dep] == 0)
                    {
                        state[dep] = 1;
                        stack.Push((dep, 0));
                    }
                }
                else
                {
                    state[node] = 2;
                }
            }
        }

        return null;
    }

    private HashSet<int>[] ComputeAncestors()
    {
        var ancestors = new HashSet<int>?[Dependencies.Length];
        HashSet<int> Of(int node)
        {
            if (ancestors[node] is { } known)
            {
                return known;
            }

            var set = new HashSet<int>();
            foreach (var dep in Dependencies[node].Where(d => d >= 0))
            {
                set.Add(dep);
                set.UnionWith(Of(dep));
            }

            return ancestors[node] = set;
        }

        return Enumerable.Range(0, Dependencies.Length).Select(Of).ToArray();
    }
}
