using System.Text.Json;
using System.Text.Json.Serialization;

namespace Orchestration.Client;

/// <summary>Run and step statuses orchestration-api reports. Statuses are strings so a newer service's statuses still read.</summary>
public static class RunStatuses
{
    /// <summary>Created, not started.</summary>
    public const string Pending = "PENDING";

    /// <summary>Working (or compensating).</summary>
    public const string Running = "RUNNING";

    /// <summary>Step only: failed an attempt, the next one starts after the backoff.</summary>
    public const string Retrying = "RETRYING";

    /// <summary>Ended well.</summary>
    public const string Succeeded = "SUCCEEDED";

    /// <summary>Ended with a failure.</summary>
    public const string Failed = "FAILED";

    /// <summary>Step only: an approval step waiting for its signal (see <see cref="StepRun.WaitingFor"/>).</summary>
    public const string Waiting = "WAITING";

    /// <summary>Step only: skipped after a failure (<c>onFail: SKIP</c>) or a condition.</summary>
    public const string Skipped = "SKIPPED";

    /// <summary>Cancelled.</summary>
    public const string Cancelled = "CANCELLED";

    /// <summary>Run only: passed the workflow's timeout.</summary>
    public const string TimedOut = "TIMED_OUT";

    /// <summary>The run statuses a listing may filter by.</summary>
    public static IReadOnlyList<string> RunFilters { get; } = [Pending, Running, Succeeded, Failed, Cancelled, TimedOut];

    /// <summary>Whether a run (or step) with this status has ended.</summary>
    /// <param name="status">The status.</param>
    public static bool IsFinal(string? status) => status is Succeeded or Failed or Cancelled or TimedOut or Skipped;
}

/// <summary>The answer to <see cref="OrchestrationClient.StartRunAsync"/>: the run's id and status, and the run when it already ended.</summary>
public sealed record StartedRun
{
    /// <summary>The run's id.</summary>
    public required string RunId { get; init; }

    /// <summary>Its status when the service answered.</summary>
    public required string Status { get; init; }

    /// <summary>The whole run, when it ended within the requested wait.</summary>
    public RunDetails? Run { get; init; }
}

/// <summary>A run with its steps (<c>GET /api/runs/{runId}</c>).</summary>
public sealed record RunDetails
{
    /// <summary>The run's id.</summary>
    public required string RunId { get; init; }

    /// <summary>The workflow it runs.</summary>
    public string WorkflowId { get; init; } = "";

    /// <summary>The workflow version it runs, when the service keeps versions.</summary>
    [JsonConverter(typeof(LenientStringConverter))]
    public string? WorkflowVersion { get; init; }

    /// <summary>See <see cref="RunStatuses"/>.</summary>
    public string Status { get; init; } = "";

    /// <summary>The run's input.</summary>
    public JsonElement Input { get; init; }

    /// <summary>The run's output once it succeeded.</summary>
    public JsonElement? Output { get; init; }

    /// <summary>Why it failed.</summary>
    public string? Error { get; init; }

    /// <summary>The step that made it fail.</summary>
    public string? FailedStep { get; init; }

    /// <summary>Steps whose compensation ran.</summary>
    public IReadOnlyList<string> Compensated { get; init; } = [];

    /// <summary>Steps whose compensation failed.</summary>
    public IReadOnlyList<string> CompensationFailed { get; init; } = [];

    /// <summary>Compensations are running; the run ends when they finish.</summary>
    public bool Compensating { get; init; }

    /// <summary>When the run was created.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When it started.</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>When it ended.</summary>
    public DateTimeOffset? EndedAt { get; init; }

    /// <summary>The key it was started with.</summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>Model usage summed over the steps.</summary>
    public RunUsage? Usage { get; init; }

    /// <summary>For a child run (started by a <c>workflow</c> step): the parent run, step and attempt; null otherwise.</summary>
    public ParentRunRef? Parent { get; init; }

    /// <summary>0 for a run a client started; a child run is one deeper than its parent.</summary>
    public int Depth { get; init; }

    /// <summary>The steps, in definition order.</summary>
    public IReadOnlyList<StepRun> Steps { get; init; } = [];

    /// <summary>Fields this client does not know yet.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; init; }

    /// <summary>Whether the run has ended.</summary>
    [JsonIgnore]
    public bool IsFinal => RunStatuses.IsFinal(Status);
}

/// <summary>One step of a run.</summary>
public sealed record StepRun
{
    /// <summary>The step's id.</summary>
    public required string Id { get; init; }

    /// <summary>See <see cref="RunStatuses"/>; newer services may add statuses (for example one for a step waiting for approval).</summary>
    public string Status { get; init; } = "";

    /// <summary>
    /// The steps this one waits for, as the service resolved them (a step without <c>dependsOn</c> in its definition
    /// waits for the previous one; the first waits for none). Null from a service that does not say.
    /// </summary>
    public IReadOnlyList<string>? DependsOn { get; init; }

    /// <summary>The signal an approval step waits for (send it with <see cref="OrchestrationClient.SignalAsync"/>).</summary>
    public string? WaitingFor { get; init; }

    /// <summary>Why the step was skipped (a failure with <c>onFail: SKIP</c>, or a condition that did not hold).</summary>
    public string? SkipReason { get; init; }

    /// <summary>Attempts made.</summary>
    public int Attempts { get; init; }

    /// <summary>The agent of the current attempt.</summary>
    public string? AgentId { get; init; }

    /// <summary>When the first attempt started.</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>When the step ended.</summary>
    public DateTimeOffset? EndedAt { get; init; }

    /// <summary>The output of the successful attempt.</summary>
    public JsonElement? Output { get; init; }

    /// <summary>The last error.</summary>
    public string? Error { get; init; }

    /// <summary>Model, usage and cost the agent reported.</summary>
    public WorkMetadata? Metadata { get; init; }

    /// <summary>Every attempt.</summary>
    public IReadOnlyList<AttemptRun> AttemptHistory { get; init; } = [];

    /// <summary>The elements of a <c>forEach</c> step, each with its own attempts; null for other steps.</summary>
    public IReadOnlyList<StepItemRun>? Items { get; init; }

    /// <summary>A <c>workflow</c> step's child run of the current attempt (read it with <see cref="OrchestrationClient.GetRunAsync"/>).</summary>
    public string? ChildRunId { get; init; }

    /// <summary>Fields this client does not know yet.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; init; }
}

/// <summary>One element of a <c>forEach</c> step.</summary>
public sealed record StepItemRun
{
    /// <summary>The element's index, from 0.</summary>
    public int Index { get; init; }

    /// <summary>See <see cref="RunStatuses"/>.</summary>
    public string Status { get; init; } = "";

    /// <summary>Attempts made.</summary>
    public int Attempts { get; init; }

    /// <summary>The agent of the current attempt.</summary>
    public string? AgentId { get; init; }

    /// <summary>When it ended.</summary>
    public DateTimeOffset? EndedAt { get; init; }

    /// <summary>Its output.</summary>
    public JsonElement? Output { get; init; }

    /// <summary>The last error.</summary>
    public string? Error { get; init; }

    /// <summary>Every attempt.</summary>
    public IReadOnlyList<AttemptRun> AttemptHistory { get; init; } = [];

    /// <summary>
    /// For an item of a forEach <c>workflow</c> step: the child run of its current attempt (read it with
    /// <see cref="OrchestrationClient.GetRunAsync"/>; its parent names the item as <c>&lt;step&gt;[&lt;index&gt;]</c>).
    /// </summary>
    public string? ChildRunId { get; init; }

    /// <summary>Fields this client does not know yet (a debate turn's round, participant and role, for example).</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; init; }
}

/// <summary>One attempt of a step.</summary>
public sealed record AttemptRun
{
    /// <summary>1, 2, ...</summary>
    public int Number { get; init; }

    /// <summary>The agent the task went to.</summary>
    public string? AgentId { get; init; }

    /// <summary>When the task was sent.</summary>
    public DateTimeOffset StartedAt { get; init; }

    /// <summary>When it ended.</summary>
    public DateTimeOffset? EndedAt { get; init; }

    /// <summary>Why it failed.</summary>
    public string? Error { get; init; }

    /// <summary>Model, usage and cost of this attempt, when the service reports it per attempt.</summary>
    public WorkMetadata? Metadata { get; init; }

    /// <summary>Fields this client does not know yet.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; init; }
}

/// <summary>Model, usage and cost an agent reported for its work.</summary>
public sealed record WorkMetadata
{
    /// <summary>The model that answered.</summary>
    public string? Model { get; init; }

    /// <summary>Input tokens.</summary>
    public long InputTokens { get; init; }

    /// <summary>Output tokens.</summary>
    public long OutputTokens { get; init; }

    /// <summary>All tokens.</summary>
    public long TotalTokens { get; init; }

    /// <summary>Cost in US dollars.</summary>
    public decimal CostUsd { get; init; }

    /// <summary>The model call's latency.</summary>
    public long LatencyMs { get; init; }

    /// <summary>Models tried before the one that answered.</summary>
    public IReadOnlyList<string>? Fallbacks { get; init; }
}

/// <summary>A run's model usage summed over its steps.</summary>
public sealed record RunUsage
{
    /// <summary>Input tokens.</summary>
    public long InputTokens { get; init; }

    /// <summary>Output tokens.</summary>
    public long OutputTokens { get; init; }

    /// <summary>All tokens.</summary>
    public long TotalTokens { get; init; }

    /// <summary>Cost in US dollars.</summary>
    public decimal CostUsd { get; init; }

    /// <summary>The models used.</summary>
    public IReadOnlyList<string> Models { get; init; } = [];
}

/// <summary>A run in a listing.</summary>
public sealed record RunSummary
{
    /// <summary>The run's id.</summary>
    public required string RunId { get; init; }

    /// <summary>The workflow.</summary>
    public string WorkflowId { get; init; } = "";

    /// <summary>See <see cref="RunStatuses"/>.</summary>
    public string Status { get; init; } = "";

    /// <summary>When it was created.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When it ended.</summary>
    public DateTimeOffset? EndedAt { get; init; }

    /// <summary>The step that made it fail.</summary>
    public string? FailedStep { get; init; }

    /// <summary>Fields this client does not know yet.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; init; }
}

/// <summary>A page of runs, newest first.</summary>
public sealed record RunPage
{
    /// <summary>The runs.</summary>
    public IReadOnlyList<RunSummary> Items { get; init; } = [];

    /// <summary>Pass as <see cref="RunQuery.Cursor"/> for the next page; null on the last page.</summary>
    public string? NextCursor { get; init; }
}

/// <summary>Filters and paging of <see cref="OrchestrationClient.ListRunsAsync"/>.</summary>
public sealed record RunQuery
{
    /// <summary>Only runs of this workflow.</summary>
    public string? WorkflowId { get; init; }

    /// <summary>Only runs with this status (see <see cref="RunStatuses.RunFilters"/>).</summary>
    public string? Status { get; init; }

    /// <summary>Page size, 1-200.</summary>
    public int Limit { get; init; } = 50;

    /// <summary>The previous page's <see cref="RunPage.NextCursor"/>.</summary>
    public string? Cursor { get; init; }
}

/// <summary>One event of a run's history (and of its Server-Sent Events stream).</summary>
public sealed record RunEvent
{
    /// <summary>The event type, for example <c>step_completed</c> (see <see cref="RunEventTypes"/>).</summary>
    public string Type { get; init; } = "";

    /// <summary>The run.</summary>
    public string RunId { get; init; } = "";

    /// <summary>When it happened.</summary>
    public DateTimeOffset At { get; init; }

    /// <summary>The step, for step events.</summary>
    public string? StepId { get; init; }

    /// <summary>The attempt, for attempt events.</summary>
    public int? Attempt { get; init; }

    /// <summary>Event-specific data.</summary>
    public JsonElement? Data { get; init; }

    /// <summary>The stream entry id (the SSE <c>id</c>); resume after it with <c>Last-Event-ID</c>.</summary>
    [JsonIgnore]
    public string? EventId { get; init; }
}

/// <summary>Run event types.</summary>
public static class RunEventTypes
{
    /// <summary>The run started.</summary>
    public const string WorkflowStarted = "workflow_started";

    /// <summary>The run succeeded.</summary>
    public const string WorkflowCompleted = "workflow_completed";

    /// <summary>The run failed.</summary>
    public const string WorkflowFailed = "workflow_failed";

    /// <summary>The run was cancelled.</summary>
    public const string WorkflowCancelled = "workflow_cancelled";

    /// <summary>The run timed out.</summary>
    public const string WorkflowTimedOut = "workflow_timed_out";

    /// <summary>Whether an event of this type ends the run's stream.</summary>
    /// <param name="type">The event type.</param>
    public static bool IsTerminal(string? type) => type is WorkflowCompleted or WorkflowFailed or WorkflowCancelled or WorkflowTimedOut;
}

/// <summary>The run, step (or forEach item, <c>&lt;step&gt;[&lt;i&gt;]</c>) and attempt a child run answers to.</summary>
/// <param name="RunId">The parent run.</param>
/// <param name="StepId">The parent's step or forEach item.</param>
/// <param name="Attempt">The parent step's attempt that started the child.</param>
public sealed record ParentRunRef(string RunId, string StepId, int Attempt);
