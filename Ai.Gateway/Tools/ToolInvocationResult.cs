using System.Text.Json;

namespace Ai.Gateway.Tools;

public enum ToolInvocationStatus
{
    Succeeded,
    NotFound,
    InvalidArguments,
    Failed,
}

/// <summary>What came of one call: the result, or why there is none.</summary>
public sealed record ToolInvocationResult
{
    public required string Tool { get; init; }

    public required ToolInvocationStatus Status { get; init; }

    /// <summary>The validated result when <see cref="Status"/> is <see cref="ToolInvocationStatus.Succeeded"/>.</summary>
    public JsonElement Result { get; init; }

    /// <summary>Why the call failed, in words safe to show the caller.</summary>
    public string? Error { get; init; }

    /// <summary>Schema errors: in the arguments (<c>InvalidArguments</c>) or in the tool's result (<c>Failed</c>).</summary>
    public IReadOnlyList<SchemaError> Errors { get; init; } = [];

    public TimeSpan Latency { get; init; }

    public bool Succeeded => Status == ToolInvocationStatus.Succeeded;
}
