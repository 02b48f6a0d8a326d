using System.Text.Json;
using System.Text.Json.Serialization;

namespace Orchestration.Client;

/// <summary>
/// A workflow definition. The fields the client knows are typed; any other field the service sends (newer language
/// features) is kept in <see cref="Extra"/> and sent back unchanged by <see cref="OrchestrationClient.PutWorkflowAsync"/>.
/// </summary>
public sealed record WorkflowDefinition
{
    /// <summary>The workflow's id.</summary>
    public string Id { get; init; } = "";

    /// <summary>A description.</summary>
    public string? Description { get; init; }

    /// <summary>The version of this definition, when the service keeps versions.</summary>
    [JsonConverter(typeof(LenientStringConverter))]
    public string? Version { get; init; }

    /// <summary>The whole run must end within this time, or it ends as <c>TIMED_OUT</c>.</summary>
    public long? TimeoutMs { get; init; }

    /// <summary>The steps.</summary>
    public IReadOnlyList<StepDefinition> Steps { get; init; } = [];

    /// <summary>Fields this client does not know yet.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; init; }
}

/// <summary>One step of a workflow definition.</summary>
public sealed record StepDefinition
{
    /// <summary>The step's id, unique in the workflow.</summary>
    public string Id { get; init; } = "";

    /// <summary>The agent that handles it, or null when <see cref="Capability"/> picks one.</summary>
    public string? Agent { get; init; }

    /// <summary>Any active agent with this capability may take the step.</summary>
    public string? Capability { get; init; }

    /// <summary>The steps this one waits for. Null: the step follows the previous one (a sequence).</summary>
    public IReadOnlyList<string>? DependsOn { get; init; }

    /// <summary>The input template.</summary>
    public JsonElement? Input { get; init; }

    /// <summary><c>RETRY</c>, <c>SKIP</c> or <c>ABORT</c>.</summary>
    public string? OnFail { get; init; }

    /// <summary>Attempts in all.</summary>
    public int? MaxAttempts { get; init; }

    /// <summary>How long one attempt may take.</summary>
    public long? TimeoutMs { get; init; }

    /// <summary>Fields this client does not know yet (backoff, compensate, when, forEach, approval...).</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; init; }

    /// <summary>Whether the definition has a field this client does not type (for example <c>forEach</c> or <c>approval</c>).</summary>
    /// <param name="name">The field's JSON name.</param>
    /// <param name="value">Its value.</param>
    public bool TryGetExtra(string name, out JsonElement value)
    {
        value = default;
        return Extra is not null && Extra.TryGetValue(name, out value) && value.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined);
    }
}

/// <summary>One stored version of a workflow definition (<c>GET /api/workflows/{id}/versions</c>).</summary>
public sealed record WorkflowVersionInfo
{
    /// <summary>The version.</summary>
    [JsonConverter(typeof(LenientStringConverter))]
    public string Version { get; init; } = "";

    /// <summary>When it was stored, when the service says.</summary>
    public DateTimeOffset? CreatedAt { get; init; }

    /// <summary>Fields this client does not know yet.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; init; }
}
