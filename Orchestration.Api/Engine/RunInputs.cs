using System.Text.Json;
using Communication.Bus.Contracts;
using Orchestration.Api.Model;

namespace Orchestration.Api.Engine;

/// <summary>Something that may move a run forward.</summary>
public abstract record RunInput;

/// <summary>The run was just created: start its first step.</summary>
public sealed record StartRun : RunInput;

/// <summary>
/// An agent answered a task of the run. It counts only with the attempt's task message id as
/// <paramref name="CorrelationId"/> and from the sender the attempt was sent to (<paramref name="From"/>).
/// </summary>
public sealed record StepResultReceived(AgentTaskResult Result, string? CorrelationId, string? From) : RunInput;

/// <summary>A client sent a signal (e.g. an approval) to the run.</summary>
public sealed record SignalReceived(string Name, RunSignal Signal) : RunInput;

/// <summary>
/// A child run started by a <c>workflow</c> step ended. It counts only for the attempt in flight whose
/// <see cref="AttemptState.ChildRunId"/> is <paramref name="ChildRunId"/>.
/// </summary>
public sealed record ChildRunEnded(string StepId, int Attempt, string ChildRunId, RunStatus Status, JsonElement? Output, string? Error, bool Retryable = true) : RunInput;

/// <summary>A child run finished undoing its completed steps at its parent's request (the parent's compensation of the step).</summary>
public sealed record ChildRunCompensated(string StepId, string ChildRunId, bool Ok, string? Error) : RunInput;

/// <summary>The parent of a succeeded child run compensates the step that ran it: undo the child's completed steps.</summary>
public sealed record CompensateRun : RunInput;

/// <summary>The engine's clock reached one or more of the run's timers.</summary>
public sealed record TimersDue : RunInput;

/// <summary>A client asked to cancel the run.</summary>
public sealed record CancelRun : RunInput;

/// <summary>
/// An agent that may take a task right now (registered, heartbeat fresh, status active).
/// <paramref name="Sender"/> is the bus <c>from</c> its results come from (default: its id).
/// </summary>
public sealed record AgentCandidate(string Id, string Topic, IReadOnlyList<string> Capabilities, string? Sender = null);

/// <summary>Bounds on what a run may render and store (from <c>Orchestration:*</c> options).</summary>
public sealed record RunLimits(int MaxStepInputBytes, long MaxRunBytes, int MaxForEachItems = 100, int MaxWorkflowDepth = 5, int MaxErrorChars = 4096)
{
    public static readonly RunLimits Default = new(256 * 1024, 16L * 1024 * 1024);
}

/// <summary>A task to publish on the bus once the transition is stored.</summary>
public sealed record TaskDispatch(string MessageId, string Topic, AgentTask Task);

[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<RunCommandKind>))]
public enum RunCommandKind
{
    /// <summary>Start the child run <see cref="RunCommand.RunId"/> (idempotent: the id is derived from parent, step and attempt).</summary>
    StartChild,

    /// <summary>Cancel the child run <see cref="RunCommand.RunId"/> (its completed steps compensate as in any cancel).</summary>
    CancelChild,

    /// <summary>Tell the parent run <see cref="RunCommand.RunId"/> that this (child) run ended.</summary>
    NotifyParent,

    /// <summary>Ask the succeeded child run <see cref="RunCommand.RunId"/> to compensate its completed steps.</summary>
    CompensateChild,

    /// <summary>Tell the parent run <see cref="RunCommand.RunId"/> that this (child) run finished compensating.</summary>
    NotifyParentCompensated,
}

/// <summary>
/// Something a transition asks of another run. Stored in the run's outbox with the transition and
/// carried out after the commit (again by the run's wakeup until it is done); each kind is idempotent.
/// </summary>
public sealed record RunCommand(RunCommandKind Kind, string RunId)
{
    public string? WorkflowId { get; init; }

    public int? WorkflowVersion { get; init; }

    public JsonElement? Input { get; init; }

    /// <summary>StartChild: the parent the child answers to. NotifyParent: the parent's step and attempt.</summary>
    public ParentRun? Parent { get; init; }

    public int Depth { get; init; }

    /// <summary>The field the command has in the outbox hash (task entries are message ids, never starting with <c>cmd:</c>).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string OutboxKey => $"cmd:{Kind}:{RunId}";
}

/// <summary>The new state of a run, the events it produced and the tasks to send.</summary>
public sealed class RunTransition(RunState state)
{
    public RunState State { get; } = state;

    public List<RunEvent> Events { get; } = [];

    public List<TaskDispatch> Dispatches { get; } = [];

    /// <summary>What other runs must do (start or cancel a child, hear of a child's end), stored in the outbox.</summary>
    public List<RunCommand> Commands { get; } = [];

    /// <summary>Steps whose output this transition set (stored beside the run document).</summary>
    public HashSet<string> Outputs { get; } = new(StringComparer.Ordinal);

    /// <summary>Attempts this transition created or changed (stored beside the run document).</summary>
    public List<(string StepId, AttemptState Attempt)> Attempts { get; } = [];

    /// <summary>The run's output was set (it succeeded).</summary>
    public bool RunOutput { get; set; }

    /// <summary>A step or compensation found no agent to take it (the engine may look at the registry again).</summary>
    public bool NoAgent { get; set; }

    /// <summary>Whether the state must be stored: it produced events, or it dropped timers that no longer matter.</summary>
    public bool Changed => Events.Count > 0 || TimersDropped;

    public bool TimersDropped { get; set; }
}
