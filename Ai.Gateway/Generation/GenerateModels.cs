using System.Text.Json;
using System.Text.Json.Serialization;
using Ai.Gateway.Caching;
using Ai.Gateway.Policy;
using Ai.Gateway.Usage;

namespace Ai.Gateway.Generation;

/// <summary>The body of <c>POST /v1/generate</c>.</summary>
public sealed record GenerateRequest
{
    /// <summary>The user's text. Give either this or <see cref="Messages"/>.</summary>
    public string? Input { get; init; }

    /// <summary>A conversation (roles system, user, assistant). Give either this or <see cref="Input"/>.</summary>
    public IReadOnlyList<GenerateMessage>? Messages { get; init; }

    /// <summary>System instructions, added after the preset's.</summary>
    public string? System { get; init; }

    /// <summary>A system preset by name (base, code-generation, code-review, debugging, classification, json-extraction).</summary>
    public string? Preset { get; init; }

    /// <summary>A prompt format to render as the user turn: <c>{ "format": "extraction", "language": "ar", ... }</c>.</summary>
    public JsonElement? Prompt { get; init; }

    /// <summary>en or ar, for the preset.</summary>
    public string? Language { get; init; }

    public string? Model { get; init; }

    public RouteHints? Route { get; init; }

    /// <summary>Ask for JSON and check that the answer is JSON.</summary>
    public bool? Json { get; init; }

    /// <summary>Ask for JSON matching this JSON Schema and check it.</summary>
    public JsonElement? Schema { get; init; }

    public float? Temperature { get; init; }

    public int? MaxTokens { get; init; }

    /// <summary>Names of gateway tools the model may call.</summary>
    public IReadOnlyList<string>? Tools { get; init; }

    /// <summary>Answer as Server-Sent Events.</summary>
    public bool? Stream { get; init; }

    /// <summary>The shared response cache: <c>use</c>, <c>refresh</c> or <c>bypass</c> (wins over the <c>x-gateway-cache</c> header).</summary>
    public string? Cache { get; init; }
}

/// <summary>
/// Who asks (the API key's caller: cached answers are never shared between callers) and the cache mode its header asked
/// for; once the request has started, <see cref="Call"/> says what the cache did. One per request.
/// </summary>
public sealed class CacheCaller(string name, string? mode)
{
    public string Name { get; } = name;

    public string? Mode { get; } = mode;

    public ResponseCacheCall? Call { get; internal set; }
}

public sealed record GenerateMessage(string Role, string Content);

/// <summary>The answer of <c>POST /v1/generate</c>.</summary>
public sealed record GenerateResponse(
    string Output,
    JsonElement? Data,
    string Model,
    IReadOnlyList<AttemptRecord> Attempts,
    IReadOnlyList<string> Fallbacks,
    TokenUsage Usage,
    decimal CostUsd,
    string? FinishReason,
    long LatencyMs,
    RouteInfo Route,
    IReadOnlyList<ToolCallRecord> ToolCalls)
{
    /// <summary>What the response cache did, when the request asked for it.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ResponseCacheInfo? Cache { get; init; }
}

public sealed record RouteInfo(string Model, string Reason);

public sealed record ToolCallRecord(string Name, JsonElement? Arguments, bool Ok);

/// <summary>One Server-Sent Event of a streamed generation.</summary>
public sealed record GenerateStreamEvent(string Type, string? Text = null, GenerateResponse? Result = null)
{
    public const string Delta = "delta";
    public const string Done = "done";
}
