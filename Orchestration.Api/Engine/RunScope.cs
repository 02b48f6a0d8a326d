using System.Collections;

namespace Orchestration.Api.Engine;

/// <summary>A logging scope naming the run (and step, agent) a log line is about, as structured fields.</summary>
public sealed class RunScope(string runId, string? stepId = null, string? agentId = null) : IReadOnlyList<KeyValuePair<string, object?>>
{
    private readonly KeyValuePair<string, object?>[] _fields =
    [
        new("RunId", runId),
        .. stepId is null ? Array.Empty<KeyValuePair<string, object?>>() : [new("StepId", stepId)],
        .. agentId is null ? Array.Empty<KeyValuePair<string, object?>>() : [new("AgentId", agentId)],
    ];

    public int Count => _fields.Length;

    public KeyValuePair<string, object?> this[int index] => _fields[index];

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)_fields).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => string.Join(' ', _fields.Select(f => $"{f.Key}:{f.Value}"));
}
