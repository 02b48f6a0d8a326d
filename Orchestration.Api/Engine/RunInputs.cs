using Communication.Bus.Contracts;
using Orchestration.Api.Model;

namespace Orchestration.Api.Engine;

/// <summary>Something that may move a run forward.</summary>
public abstract record RunInput;

/// <summary>The run was just created: start its first step.</summary>
public sealed record StartRun : RunInput;

/// <summary>An agent answered a task of the run; <paramref name="CorrelationId"/> is the task's message id, when known.</summary>
public sealed record StepResultReceived(AgentTaskResult Result, string? CorrelationId = null) : RunInput;

/// <summary>The engine's clock reached one or more of the run's timers.</summary>
public sealed record TimersDue : RunInput;

/// <summary>A client asked to cancel the run.</summary>
public sealed record CancelRun : RunInput;

/// <summary>An agent that may take a task right now (registered, heartbeat fresh, status active).</summary>
public sealed record AgentCandidate(string Id, string Topic, IReadOnlyList<string> Capabilities);

/// <summary>A task to publish on the bus once the transition is stored.</summary>
public sealed record TaskDispatch(string MessageId, string Topic, AgentTask Task);

/// <summary>The new state of a run, the events it produced and the tasks to send.</summary>
public sealed class RunTransition(RunState state)
{
    public RunState State { get; } = state;

    public List<RunEvent> Events { get; } = [];

    public List<TaskDispatch> Dispatches { get; } = [];

    /// <summary>Whether the state must be stored: it produced events, or it dropped timers that no longer matter.</summary>
    public bool Changed => Events.Count > 0 || TimersDropped;

    public bool TimersDropped { get; set; }
}
