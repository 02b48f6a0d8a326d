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
public sealed record RunLimits(int MaxStepInputBytes, long MaxRunBytes, int MaxForEachItems = 100)
{
    public static readonly RunLimits Default = new(256 * 1024, 16L * 1024 * 1024);
}

/// <summary>A task to publish on the bus once the transition is stored.</summary>
public sealed record TaskDispatch(string MessageId, string Topic, AgentTask Task);

/// <summary>The new state of a run, the events it produced and the tasks to send.</summary>
public sealed class RunTransition(RunState state)
{
    public RunState State { get; } = state;

    public List<RunEvent> Events { get; } = [];

    public List<TaskDispatch> Dispatches { get; } = [];

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
