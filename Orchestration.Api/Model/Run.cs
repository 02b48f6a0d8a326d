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

/// <summary>A run as stored in Redis: the definition it started with, its steps, its timers.</summary>
public sealed record RunState
{
    public required string RunId { get; init; }

    /// <summary>Random per run: task message ids derive from it, so a run id reused after expiry never collides with old messages.</summary>
    public string Nonce { get; init; } = "";

    public required WorkflowDefinition Workflow { get; init; }

    public required JsonElement Input { get; init; }

    public string? IdempotencyKey { get; init; }

    public RunStatus Status { get; set; } = RunStatus.Pending;

    public required DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? EndedAt { get; set; }

    public List<StepState> Steps { get; init; } = [];

    /// <summary>The output of the last step that succeeded, once the run has succeeded.</summary>
    public JsonElement? Output { get; set; }

    public string? FailedStep { get; set; }

    public string? Error { get; set; }

    public List<string> Compensated { get; init; } = [];

    public List<string> CompensationFailed { get; init; } = [];

    /// <summary>Set while compensations run; the status the run ends with after them.</summary>
    public CompensationState? Compensation { get; set; }

    /// <summary>Due times the engine must act at (attempt timeouts, retries, the workflow timeout).</summary>
    public List<RunTimer> Timers { get; init; } = [];

    /// <summary>The W3C trace context of the request that started the run; every hop continues it.</summary>
    public string? TraceParent { get; init; }

    [JsonIgnore]
    public bool IsTerminal => Status is RunStatus.Succeeded or RunStatus.Failed or RunStatus.Cancelled or RunStatus.TimedOut;
}

public sealed record StepState
{
    public required string Id { get; init; }

    public StepStatus Status { get; set; } = StepStatus.Pending;

    public int Attempts { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? EndedAt { get; set; }

    public JsonElement? Output { get; set; }

    public string? Error { get; set; }

    /// <summary>Model, usage and cost the agent reported for the successful attempt.</summary>
    public AgentWorkMetadata? Metadata { get; set; }

    public List<AttemptState> AttemptHistory { get; init; } = [];

    [JsonIgnore]
    public AttemptState? Current => AttemptHistory.Count == 0 ? null : AttemptHistory[^1];
}

public sealed record AttemptState
{
    public required int Number { get; init; }

    public required string MessageId { get; init; }

    public string? AgentId { get; init; }

    public required DateTimeOffset StartedAt { get; init; }

    public DateTimeOffset? EndedAt { get; set; }

    public string? Error { get; set; }
}

public sealed record CompensationState
{
    public required RunStatus Outcome { get; init; }

    /// <summary>Steps still to compensate, next first.</summary>
    public List<string> Pending { get; init; } = [];

    public string? Current { get; set; }

    public string? CurrentMessageId { get; set; }
}

[JsonConverter(typeof(JsonStringEnumConverter<TimerKind>))]
public enum TimerKind
{
    AttemptTimeout,
    RetryDue,
    WorkflowTimeout,
    CompensationTimeout,
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
    public const string CompensationStarted = "compensation_started";
    public const string CompensationCompleted = "compensation_completed";
    public const string CompensationFailed = "compensation_failed";
    public const string WorkflowCompleted = "workflow_completed";
    public const string WorkflowFailed = "workflow_failed";
    public const string WorkflowCancelled = "workflow_cancelled";
    public const string WorkflowTimedOut = "workflow_timed_out";

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
