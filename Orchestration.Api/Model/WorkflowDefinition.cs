using System.Text.Json;
using System.Text.Json.Serialization;

namespace Orchestration.Api.Model;

/// <summary>
/// A workflow: a graph of steps. A step runs when the steps it depends on are done; a step without
/// <c>dependsOn</c> depends on the step before it, so a plain list of steps runs in order.
/// </summary>
public sealed record WorkflowDefinition
{
    public string Id { get; init; } = "";

    public string? Description { get; init; }

    /// <summary>The stored version (1, 2, …): set by the store, ignored in a PUT body.</summary>
    public int? Version { get; init; }

    /// <summary>At most this many steps run at once (0 = no limit but the number of steps).</summary>
    public int MaxParallelism { get; init; }

    /// <summary>The whole run must end within this time, or it ends as <c>TIMED_OUT</c>.</summary>
    public long TimeoutMs { get; init; } = 600_000;

    public IReadOnlyList<StepDefinition> Steps { get; init; } = [];
}

/// <summary>One step: who does it, with what input, and what to do when it fails.</summary>
public sealed record StepDefinition
{
    public string Id { get; init; } = "";

    /// <summary><c>agent</c> (default: a task for an agent), <c>approval</c> (wait for a signal) or <c>workflow</c> (a child run).</summary>
    public StepType Type { get; init; } = StepType.Agent;

    /// <summary>The steps that must be done first. Absent: the previous step (none for the first).</summary>
    public IReadOnlyList<string>? DependsOn { get; init; }

    /// <summary>A condition over <c>input</c> and ancestors' outputs; false skips the step (reason <c>condition</c>).</summary>
    public string? When { get; init; }

    /// <summary>For <c>approval</c> steps: the signal name to wait for (default: the step id).</summary>
    public string? Signal { get; init; }

    /// <summary>Run the step once per element of an array; its output is the array of item outputs, in order.</summary>
    public ForEachDefinition? ForEach { get; init; }

    /// <summary>For <c>workflow</c> steps: the workflow the step starts as a child run and waits for.</summary>
    public string? Workflow { get; init; }

    /// <summary>For <c>workflow</c> steps: the child's definition version (absent: the newest when the child starts).</summary>
    public int? WorkflowVersion { get; init; }

    /// <summary>For <c>debate</c> steps: who debates, for how many rounds, and who judges.</summary>
    public DebateDefinition? Debate { get; init; }

    /// <summary>A registered agent's id; or leave it empty and name a <see cref="Capability"/>.</summary>
    public string? Agent { get; init; }

    /// <summary>Any active agent with this capability may take the step.</summary>
    public string? Capability { get; init; }

    /// <summary>
    /// The step's input: any JSON in which strings may use <c>{{input.x}}</c> and
    /// <c>{{steps.&lt;id&gt;.output[.path]}}</c>. Absent: the previous step's output (the run input for the first step).
    /// </summary>
    public JsonElement? Input { get; init; }

    public OnFail OnFail { get; init; } = OnFail.Retry;

    /// <summary>Attempts in all (RETRY), at least 1.</summary>
    public int MaxAttempts { get; init; } = 3;

    public BackoffPolicy Backoff { get; init; } = new();

    /// <summary>How long one attempt may take before it counts as failed.</summary>
    public long TimeoutMs { get; init; } = 60_000;

    /// <summary>What undoes this step when a later step makes the run fail.</summary>
    public CompensationDefinition? Compensate { get; init; }
}

[JsonConverter(typeof(JsonStringEnumConverter<StepType>))]
public enum StepType
{
    [JsonStringEnumMemberName("agent")]
    Agent,

    [JsonStringEnumMemberName("approval")]
    Approval,

    [JsonStringEnumMemberName("workflow")]
    Workflow,

    [JsonStringEnumMemberName("debate")]
    Debate,
}

[JsonConverter(typeof(JsonStringEnumConverter<OnFail>))]
public enum OnFail
{
    [JsonStringEnumMemberName("RETRY")]
    Retry,

    [JsonStringEnumMemberName("SKIP")]
    Skip,

    [JsonStringEnumMemberName("ABORT")]
    Abort,
}

[JsonConverter(typeof(JsonStringEnumConverter<BackoffType>))]
public enum BackoffType
{
    [JsonStringEnumMemberName("exponential")]
    Exponential,

    [JsonStringEnumMemberName("linear")]
    Linear,

    [JsonStringEnumMemberName("constant")]
    Constant,
}

public sealed record BackoffPolicy
{
    public BackoffType Type { get; init; } = BackoffType.Exponential;

    public long BaseMs { get; init; } = 500;

    public long MaxMs { get; init; } = 30_000;

    /// <summary>Spread retries: the delay is drawn from [delay/2, delay].</summary>
    public bool Jitter { get; init; } = true;
}

public sealed record ForEachDefinition
{
    /// <summary>One placeholder naming the array: <c>{{input.x}}</c> or <c>{{steps.&lt;id&gt;.output.x}}</c>.</summary>
    public string Items { get; init; } = "";

    /// <summary>At most this many items run at once (0 = all at once).</summary>
    public int MaxConcurrency { get; init; }
}

/// <summary>
/// A multi-agent debate: in round 1 every participant proposes, in each later round every participant reads the
/// others' proposals, critiques them and revises its own; from round 2 on, the judge scores the proposals against
/// the criteria after each round and decides, ending early when it finds consensus (always after the last round).
/// </summary>
public sealed record DebateDefinition
{
    /// <summary>Two to eight seats; each names an agent or a capability.</summary>
    public IReadOnlyList<DebateSeat> Participants { get; init; } = [];

    /// <summary>Rounds of proposing and revising (1–5).</summary>
    public int Rounds { get; init; } = 2;

    /// <summary>The agent (or capability) that scores and decides.</summary>
    public DebateSeat? Judge { get; init; }

    /// <summary>What the judge scores against (up to ten short phrases).</summary>
    public IReadOnlyList<string> Criteria { get; init; } = [];
}

/// <summary>A seat at a debate: an agent, or any agent with a capability; <see cref="Name"/> labels it in the transcript.</summary>
public sealed record DebateSeat
{
    public string? Name { get; init; }

    public string? Agent { get; init; }

    public string? Capability { get; init; }

    [JsonIgnore]
    public string Label => Name ?? Agent ?? Capability ?? "";
}

public sealed record CompensationDefinition
{
    /// <summary>The agent that undoes the step.</summary>
    public string Agent { get; init; } = "";

    /// <summary>A template like a step's input; may also use this step's own output.</summary>
    public JsonElement? Input { get; init; }
}
