using System.Text.Json;
using System.Text.Json.Serialization;
using Communication.Bus.Contracts;

namespace Orchestration.Api.Model;

[JsonConverter(typeof(JsonStringEnumConverter<RunStatus>))]
public enum RunStatus
{
    [JsonStringEnumMemberName("PENDING")]
    Pending,

    [JsonStringEnumMemberName("RUNNING")]
    Running,

    [JsonStringEnumMemberName("SUCCEEDED")]
    Succeeded,

    [JsonStringEnumMemberName("FAILED")]
    Failed,

    [JsonStringEnumMemberName("CANCELLED")]
    Cancelled,

    [JsonStringEnumMemberName("TIMED_OUT")]
    TimedOut,
}

[JsonConverter(typeof(JsonStringEnumConverter<StepStatus>))]
public enum StepStatus
{
    [JsonStringEnumMemberName("PENDING")]
    Pending,

    [JsonStringEnumMemberName("RUNNING")]
    Running,

    /// <summary>Failed an attempt; the next one starts after the backoff delay.</summary>
    [JsonStringEnumMemberName("RETRYING")]
    Retrying,

    /// <summary>An approval step waiting for its signal.</summary>
    [JsonStringEnumMemberName("WAITING")]
    Waiting,

    [JsonStringEnumMemberName("SUCCEEDED")]
    Succeeded,

    [JsonStringEnumMemberName("FAILED")]
    Failed,

    [JsonStringEnumMemberName("SKIPPED")]
    Skipped,

    /// <summary>Was running when the run was cancelled or timed out; its result is ignored.</summary>
    [JsonStringEnumMemberName("CANCELLED")]
    Cancelled,
}

/// <summary>
/// A run. The engine stores its small core as one document; the run input, each step's output and
/// each attempt are stored beside it and written only when they change (see <c>RunStore</c>).
/// </summary>
public sealed record RunState
{
    public required string RunId { get; init; }

    /// <summary>Random per run: task message ids derive from it, so a run id reused after expiry never collides with old messages.</summary>
    public string Nonce { get; init; } = "";

    public string WorkflowId { get; init; } = "";

    /// <summary>The definition version the run started with and finishes on.</summary>
    public int WorkflowVersion { get; init; }

    /// <summary>The definition (immutable per version: loaded from the version store, not stored in the run).</summary>
    [JsonIgnore]
    public WorkflowDefinition Workflow { get; set; } = new();

    [JsonIgnore]
    public JsonElement Input { get; set; }

    public string? IdempotencyKey { get; init; }

    public RunStatus Status { get; set; } = RunStatus.Pending;

    public required DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? EndedAt { get; set; }

    public List<StepState> Steps { get; init; } = [];

    /// <summary>The output of the last step (in definition order) that succeeded, once the run has succeeded.</summary>
    [JsonIgnore]
    public JsonElement? Output { get; set; }

    public string? FailedStep { get; set; }

    public string? Error { get; set; }

    public List<string> Compensated { get; init; } = [];

    public List<string> CompensationFailed { get; init; } = [];

    /// <summary>Set while compensations run; the status the run ends with after them.</summary>
    public CompensationState? Compensation { get; set; }

    /// <summary>Due times the engine must act at (attempt timeouts, retries, the workflow timeout).</summary>
    public List<RunTimer> Timers { get; init; } = [];

    /// <summary>Signals that arrived before a step waited for them (name → signal), consumed when one does.</summary>
    public Dictionary<string, RunSignal> Signals { get; init; } = new(StringComparer.Ordinal);

    /// <summary>A succeeded child run whose completed steps were compensated at its parent's request.</summary>
    public bool Undone { get; set; }

    /// <summary>Counts step (and forEach item) completions, so compensation can undo them in reverse completion order.</summary>
    public int Completions { get; set; }

    /// <summary>Bytes of input and outputs stored for the run (bounded by <c>Orchestration:MaxRunBytes</c>).</summary>
    public long StoredBytes { get; set; }

    /// <summary>For a child run (started by a <c>workflow</c> step): the parent run, step and attempt it answers to.</summary>
    public ParentRun? Parent { get; init; }

    /// <summary>0 for a run started by a client; a child run is one deeper than its parent (bounded by <c>Orchestration:MaxWorkflowDepth</c>).</summary>
    public int Depth { get; init; }

    /// <summary>The W3C trace context of the request that started the run; every hop continues it.</summary>
    public string? TraceParent { get; init; }

    [JsonIgnore]
    public bool IsTerminal => Status is RunStatus.Succeeded or RunStatus.Failed or RunStatus.Cancelled or RunStatus.TimedOut;

    /// <summary>The id of a forEach item in task ids, timers, events and stored fields: <c>&lt;step&gt;[&lt;i&gt;]</c>.</summary>
    public static string ItemId(string stepId, int item) => $"{stepId}[{item.ToString(System.Globalization.CultureInfo.InvariantCulture)}]";

    public static bool TryParseItemId(string unitId, out string stepId, out int item)
    {
        var open = unitId.IndexOf('[', StringComparison.Ordinal);
        stepId = open > 0 ? unitId[..open] : unitId;
        item = -1;
        return open > 0 && unitId.EndsWith(']')
            && int.TryParse(unitId.AsSpan(open + 1, unitId.Length - open - 2), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out item);
    }

    /// <summary>The output of a step or of a forEach item (by <see cref="ItemId"/>).</summary>
    public JsonElement? OutputOf(string unitId)
    {
        if (TryParseItemId(unitId, out var stepId, out var item))
        {
            return Steps.Find(s => s.Id == stepId)?.Items is { } items && item < items.Count ? items[item].Output : null;
        }

        return Steps.Find(s => s.Id == unitId)?.Output;
    }

    /// <summary>Whether the step (or forEach item) still waits for this child run in this attempt.</summary>
    public bool WaitsForChild(string unitId, int attempt, string childRunId)
    {
        IWorkState? work = TryParseItemId(unitId, out var stepId, out var item)
            ? Steps.Find(s => s.Id == stepId)?.Items is { } items && item < items.Count ? items[item] : null
            : Steps.Find(s => s.Id == unitId);
        return !IsTerminal && Compensation is null && work is { Status: StepStatus.Running, Current: { } current }
            && current.Number == attempt && current.ChildRunId == childRunId;
    }

    /// <summary>The message ids of every attempt in flight (steps and forEach items).</summary>
    public IEnumerable<string> RunningMessageIds() =>
        Steps.Where(s => s.Status == StepStatus.Running && s.Current is not null).Select(s => s.Current!.MessageId)
            .Concat(Steps.SelectMany(s => s.Items ?? []).Where(i => i.Status == StepStatus.Running && i.Current is not null).Select(i => i.Current!.MessageId));
}

/// <summary>What a step and a forEach item have in common: one unit of work with attempts.</summary>
public interface IWorkState
{
    StepStatus Status { get; set; }

    int Attempts { get; set; }

    DateTimeOffset? EndedAt { get; set; }

    JsonElement? Output { get; set; }

    string? Error { get; set; }

    AttemptState? Current { get; set; }
}

public sealed record StepState : IWorkState
{
    public required string Id { get; init; }

    public StepStatus Status { get; set; } = StepStatus.Pending;

    public int Attempts { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? EndedAt { get; set; }

    /// <summary>Stored beside the run document (written once, when the step succeeds).</summary>
    [JsonIgnore]
    public JsonElement? Output { get; set; }

    public string? Error { get; set; }

    /// <summary>Why a step was skipped: <c>condition</c>, <c>dependencies</c> or <c>failed</c> (onFail SKIP).</summary>
    public string? SkipReason { get; set; }

    /// <summary>The signal an approval step waits for.</summary>
    public string? WaitingFor { get; set; }

    /// <summary>The position of this step's completion among the run's completions (1 = first).</summary>
    public int Completion { get; set; }

    /// <summary>Model, usage and cost the agent reported for the successful attempt.</summary>
    public AgentWorkMetadata? Metadata { get; set; }

    /// <summary>The latest attempt (earlier ones are stored beside the run document).</summary>
    public AttemptState? Current { get; set; }

    /// <summary>A forEach step's items, in order (their outputs are stored beside the run document).</summary>
    public List<ItemState>? Items { get; set; }
}

/// <summary>One element of a forEach step: its own attempts, output and error.</summary>
public sealed record ItemState : IWorkState
{
    public required int Index { get; init; }

    /// <summary>For a debate step: the round (from 1) this turn belongs to.</summary>
    public int? Round { get; init; }

    /// <summary>For a debate step: the participant's label, or null for the judge's turn.</summary>
    public string? Participant { get; init; }

    /// <summary>For a debate step: <c>propose</c>, <c>revise</c> or <c>judge</c>.</summary>
    public string? Role { get; init; }

    public StepStatus Status { get; set; } = StepStatus.Pending;

    public int Attempts { get; set; }

    public DateTimeOffset? EndedAt { get; set; }

    [JsonIgnore]
    public JsonElement? Output { get; set; }

    public string? Error { get; set; }

    /// <summary>The position of this item's completion among the run's completions (steps' and items' alike; 0 = not completed).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int Completion { get; set; }

    public AttemptState? Current { get; set; }
}

public sealed record AttemptState
{
    public required int Number { get; init; }

    public required string MessageId { get; init; }

    public string? AgentId { get; init; }

    /// <summary>The bus sender whose TASK_RESULT may complete the attempt (the agent's registered sender).</summary>
    public string? Sender { get; init; }

    /// <summary>For <c>workflow</c> steps: the child run of this attempt (derived from run, step and attempt, so every replica starts the same one).</summary>
    public string? ChildRunId { get; init; }

    public required DateTimeOffset StartedAt { get; init; }

    public DateTimeOffset? EndedAt { get; set; }

    public string? Error { get; set; }
}

/// <summary>The run, step (or forEach item) and attempt a child run reports its end to.</summary>
public sealed record ParentRun(string RunId, string StepId, int Attempt);

/// <summary>A signal sent to a run (<c>POST /api/runs/{runId}/signals/{name}</c>).</summary>
public sealed record RunSignal
{
    public bool Approved { get; init; } = true;

    public string? By { get; init; }

    public string? Comment { get; init; }

    public JsonElement? Data { get; init; }

    public DateTimeOffset? At { get; init; }
}

public sealed record CompensationState
{
    public required RunStatus Outcome { get; init; }

    /// <summary>Undoing a succeeded child run for its parent: the run keeps its status and tells the parent when done.</summary>
    public bool ForParent { get; init; }

    /// <summary>Steps still to compensate, next first.</summary>
    public List<string> Pending { get; init; } = [];

    public string? Current { get; set; }

    public string? CurrentMessageId { get; set; }

    /// <summary>The bus sender whose TASK_RESULT may finish the current compensation.</summary>
    public string? CurrentSender { get; set; }
}

[JsonConverter(typeof(JsonStringEnumConverter<TimerKind>))]
public enum TimerKind
{
    AttemptTimeout,
    RetryDue,
    WorkflowTimeout,
    CompensationTimeout,
    SignalTimeout,
}

public sealed record RunTimer(TimerKind Kind, DateTimeOffset DueAt, string? StepId = null, int Attempt = 0);

/// <summary>One entry of a run's event history (and of its Server-Sent Events stream).</summary>
public sealed record RunEvent(
    string Type,
    string RunId,
    DateTimeOffset At,
    string? StepId = null,
    int? Attempt = null,
    JsonElement? Data = null);

public static class RunEventTypes
{
    public const string WorkflowStarted = "workflow_started";
    public const string StepStarted = "step_started";
    public const string StepCompleted = "step_completed";
    public const string StepFailed = "step_failed";
    public const string StepRetrying = "step_retrying";
    public const string StepSkipped = "step_skipped";
    public const string Waiting = "waiting";
    public const string SignalReceived = "signal_received";
    public const string CompensationStarted = "compensation_started";
    public const string CompensationCompleted = "compensation_completed";
    public const string CompensationFailed = "compensation_failed";
    public const string WorkflowCompleted = "workflow_completed";
    public const string WorkflowFailed = "workflow_failed";
    public const string WorkflowCancelled = "workflow_cancelled";
    public const string WorkflowTimedOut = "workflow_timed_out";

    /// <summary>A succeeded child run compensated its completed steps because its parent compensated the step that ran it.</summary>
    public const string WorkflowCompensated = "workflow_compensated";

    public static bool IsTerminal(string type) =>
        type is WorkflowCompleted or WorkflowFailed or WorkflowCancelled or WorkflowTimedOut;
}

public static class RunJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // Agent outputs are stored inside the run document, a few levels down.
        MaxDepth = 256,
    };
}
