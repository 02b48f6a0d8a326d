using System.Text.Json;
using Communication.Bus.Contracts;

namespace Orchestration.Api.Model;

/// <summary>A run as the API shows it.</summary>
public sealed record RunView(
    string RunId,
    string WorkflowId,
    int WorkflowVersion,
    RunStatus Status,
    JsonElement Input,
    JsonElement? Output,
    string? Error,
    string? FailedStep,
    IReadOnlyList<string> Compensated,
    IReadOnlyList<string> CompensationFailed,
    bool Compensating,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? EndedAt,
    string? IdempotencyKey,
    RunUsage Usage,
    IReadOnlyList<StepView> Steps,
    ParentRun? Parent = null,
    int Depth = 0,
    bool Undone = false)
{
    public static RunView From(RunState run, IReadOnlyDictionary<string, List<AttemptState>>? attempts = null) => new(
        run.RunId,
        run.WorkflowId,
        run.WorkflowVersion,
        run.Status,
        run.Input,
        run.Output,
        run.Error,
        run.FailedStep,
        run.Compensated,
        run.CompensationFailed,
        run.Compensation is not null,
        run.CreatedAt,
        run.StartedAt,
        run.EndedAt,
        run.IdempotencyKey,
        RunUsage.Of(run.Steps.Select(s => s.Metadata)),
        run.Steps.Select((s, i) => new StepView(s.Id, Dependencies(run, i), s.Status, s.SkipReason, s.WaitingFor, s.Attempts, s.Current?.AgentId, s.StartedAt, s.EndedAt, s.Output, s.Error, s.Metadata,
            History(attempts, s.Id, s.Current),
            s.Items?.Select(item => new ItemView(item.Index, item.Status, item.Attempts, item.Current?.AgentId, item.EndedAt, item.Output, item.Error,
                History(attempts, RunState.ItemId(s.Id, item.Index), item.Current), item.Current?.ChildRunId, item.Round, item.Participant, item.Role)).ToList(), s.Current?.ChildRunId)).ToList(),
        run.Parent,
        run.Depth,
        run.Undone);

    private static List<AttemptView> History(IReadOnlyDictionary<string, List<AttemptState>>? attempts, string unitId, AttemptState? current) =>
        (attempts?.GetValueOrDefault(unitId) ?? (current is not null ? [current] : []))
            .Select(a => new AttemptView(a.Number, a.AgentId, a.StartedAt, a.EndedAt, a.Error, a.ChildRunId)).ToList();

    private static IReadOnlyList<string> Dependencies(RunState run, int index) =>
        index < run.Workflow.Steps.Count
            ? Services.WorkflowGraph.Of(run.Workflow).Dependencies[index].Where(d => d >= 0).Select(d => run.Workflow.Steps[d].Id).ToList()
            : [];
}

/// <summary>A step of a run; <c>dependsOn</c> is resolved (a step without it in the definition shows the previous step).</summary>
public sealed record StepView(
    string Id,
    IReadOnlyList<string> DependsOn,
    StepStatus Status,
    string? SkipReason,
    string? WaitingFor,
    int Attempts,
    string? AgentId,
    DateTimeOffset? StartedAt,
    DateTimeOffset? EndedAt,
    JsonElement? Output,
    string? Error,
    AgentWorkMetadata? Metadata,
    IReadOnlyList<AttemptView> AttemptHistory,
    IReadOnlyList<ItemView>? Items,
    string? ChildRunId = null);

/// <summary>One element of a forEach step.</summary>
public sealed record ItemView(
    int Index,
    StepStatus Status,
    int Attempts,
    string? AgentId,
    DateTimeOffset? EndedAt,
    JsonElement? Output,
    string? Error,
    IReadOnlyList<AttemptView> AttemptHistory,
    string? ChildRunId = null,
    int? Round = null,
    string? Participant = null,
    string? Role = null);

/// <summary>One attempt; <c>childRunId</c> is set for the attempts of <c>workflow</c> steps.</summary>
public sealed record AttemptView(int Number, string? AgentId, DateTimeOffset StartedAt, DateTimeOffset? EndedAt, string? Error, string? ChildRunId = null);

/// <summary>Model usage of a run, summed over its steps.</summary>
public sealed record RunUsage(long InputTokens, long OutputTokens, long TotalTokens, decimal CostUsd, IReadOnlyList<string> Models)
{
    public static RunUsage Of(IEnumerable<AgentWorkMetadata?> steps)
    {
        var reported = steps.OfType<AgentWorkMetadata>().ToList();
        return new RunUsage(
            reported.Sum(m => m.InputTokens),
            reported.Sum(m => m.OutputTokens),
            reported.Sum(m => m.TotalTokens),
            reported.Sum(m => m.CostUsd),
            reported.Select(m => m.Model).OfType<string>().Distinct(StringComparer.Ordinal).ToList());
    }
}

/// <summary>The answer to a start that has not ended yet.</summary>
public sealed record RunAccepted(string RunId, RunStatus Status);

/// <summary>A page of runs, newest first; pass <see cref="NextCursor"/> as <c>cursor</c> for the next page.</summary>
public sealed record RunPage(IReadOnlyList<RunSummary> Items, string? NextCursor);

public sealed record RunSummary(string RunId, string WorkflowId, RunStatus Status, DateTimeOffset CreatedAt, DateTimeOffset? EndedAt, string? FailedStep)
{
    public static RunSummary From(RunState run) => new(run.RunId, run.WorkflowId, run.Status, run.CreatedAt, run.EndedAt, run.FailedStep);
}

/// <summary>The body of <c>POST /api/workflows/{id}/runs</c>.</summary>
public sealed record StartRunRequest
{
    public JsonElement? Input { get; init; }

    /// <summary>Starting twice with the same key gives the same run.</summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>The definition version to run (default: the newest).</summary>
    public int? Version { get; init; }
}

/// <summary>The body of <c>POST /api/runs/{runId}/signals/{name}</c>.</summary>
public sealed record SignalRequest
{
    /// <summary>False rejects: the waiting step fails (its onFail decides what follows).</summary>
    public bool Approved { get; init; } = true;

    public string? By { get; init; }

    public string? Comment { get; init; }

    public System.Text.Json.JsonElement? Data { get; init; }
}
