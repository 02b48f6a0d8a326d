using System.Text.Json;
using System.Text.Json.Serialization;

namespace Communication.Bus.Contracts;

/// <summary>What the task is for: a workflow step, or undoing a completed step (saga compensation).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AgentTaskKind>))]
public enum AgentTaskKind
{
    /// <summary>A workflow step attempt.</summary>
    [JsonStringEnumMemberName("step")]
    Step,

    /// <summary>The compensation of a completed step.</summary>
    [JsonStringEnumMemberName("compensation")]
    Compensation,
}

/// <summary>
/// The payload of a <c>TASK</c> message sent by the orchestrator to an agent's topic. The agent
/// answers with a <c>TASK_RESULT</c> carrying an <see cref="AgentTaskResult"/> to the message's
/// <c>replyTo</c> topic, with the task message's id as <c>correlationId</c>.
/// </summary>
public sealed record AgentTask
{
    /// <summary>The run the task belongs to.</summary>
    public required string RunId { get; init; }

    /// <summary>The workflow of the run.</summary>
    public required string WorkflowId { get; init; }

    /// <summary>The step id within the workflow.</summary>
    public required string StepId { get; init; }

    /// <summary>The attempt number, from 1.</summary>
    public required int Attempt { get; init; }

    /// <summary>A step attempt or a compensation.</summary>
    public AgentTaskKind Kind { get; init; } = AgentTaskKind.Step;

    /// <summary>The agent chosen to do the work.</summary>
    public required string AgentId { get; init; }

    /// <summary>The capability the step asked for, if it named one instead of an agent.</summary>
    public string? Capability { get; init; }

    /// <summary>The step's input, rendered from its template.</summary>
    public JsonElement Input { get; init; }

    /// <summary>Unix milliseconds after which the orchestrator no longer waits for the result.</summary>
    public long DeadlineUnixMs { get; init; }

    /// <summary>
    /// A JSON Schema the answer's output should match (e.g. a debate judge's scores), or absent. An agent that
    /// cannot honour it may answer as usual; the orchestrator then reads what it can.
    /// </summary>
    public JsonElement? OutputSchema { get; init; }
}

/// <summary>The payload of a <c>TASK_RESULT</c> message: the outcome of an <see cref="AgentTask"/>.</summary>
public sealed record AgentTaskResult
{
    /// <summary>The run of the task.</summary>
    public required string RunId { get; init; }

    /// <summary>The step of the task.</summary>
    public required string StepId { get; init; }

    /// <summary>The attempt of the task (results of other attempts are ignored).</summary>
    public required int Attempt { get; init; }

    /// <summary>A step attempt or a compensation.</summary>
    public AgentTaskKind Kind { get; init; } = AgentTaskKind.Step;

    /// <summary>Whether the work succeeded.</summary>
    public required bool Ok { get; init; }

    /// <summary>The step's output when <see cref="Ok"/>.</summary>
    public JsonElement? Output { get; init; }

    /// <summary>Why the work failed, when not <see cref="Ok"/>.</summary>
    public string? Error { get; init; }

    /// <summary>Whether trying again may succeed (default <see langword="true"/>).</summary>
    public bool Retryable { get; init; } = true;

    /// <summary>The agent that did the work.</summary>
    public string? AgentId { get; init; }

    /// <summary>How the work was done (model, usage, cost, latency), when the agent reports it.</summary>
    public AgentWorkMetadata? Metadata { get; init; }
}

/// <summary>What an agent reports about the model calls behind a result.</summary>
public sealed record AgentWorkMetadata
{
    /// <summary>The model that produced the answer (e.g. <c>offline</c> or a Gemini model id).</summary>
    public string? Model { get; init; }

    /// <summary>Input tokens of all model calls.</summary>
    public long InputTokens { get; init; }

    /// <summary>Output tokens of all model calls.</summary>
    public long OutputTokens { get; init; }

    /// <summary>Total tokens of all model calls.</summary>
    public long TotalTokens { get; init; }

    /// <summary>Cost in US dollars.</summary>
    public decimal CostUsd { get; init; }

    /// <summary>Wall-clock time the agent spent, in milliseconds.</summary>
    public long LatencyMs { get; init; }

    /// <summary>Models tried before the one that answered.</summary>
    public IReadOnlyList<string>? Fallbacks { get; init; }
}
