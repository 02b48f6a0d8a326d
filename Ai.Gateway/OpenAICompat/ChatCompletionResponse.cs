using System.Text.Encodings.Web;
using System.Text.Json.Serialization;
using System.Text.Json;
using Ai.Gateway.Policy;
using Ai.Gateway.Usage;
using Microsoft.Extensions.AI;

namespace Ai.Gateway.OpenAICompat;

/// <summary>A <c>chat.completion</c> object, plus the gateway's extras in <c>x_gateway</c> (OpenAI SDKs ignore unknown fields).</summary>
public sealed record ChatCompletion(
    [property: JsonPropertyName("id"), JsonPropertyOrder(-2)] string Id,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("choices")] IReadOnlyList<ChatCompletionChoice> Choices,
    [property: JsonPropertyName("usage")] ChatCompletionUsage Usage,
    [property: JsonPropertyName("x_gateway")] GatewayExtras Gateway)
{
    [JsonPropertyName("object"), JsonPropertyOrder(-1)]
    public string Object => "chat.completion";

    /// <summary>The upstream's <c>system_fingerprint</c>, when an OpenAI-compatible provider answered with one.</summary>
    [JsonPropertyName("system_fingerprint"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? SystemFingerprint { get; init; }
}

public sealed record ChatCompletionChoice(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("message")] ChatCompletionAnswer Message,
    [property: JsonPropertyName("finish_reason")] string FinishReason)
{
    [JsonPropertyName("logprobs")]
    public object? Logprobs => null;
}

/// <summary>The assistant's message: <c>content</c> is null when the model only called tools.</summary>
public sealed record ChatCompletionAnswer(
    [property: JsonPropertyName("content")] string? Content,
    [property: JsonPropertyName("tool_calls"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ChatCompletionToolCallOut>? ToolCalls)
{
    [JsonPropertyName("role"), JsonPropertyOrder(-1)]
    public string Role => "assistant";

    [JsonPropertyName("refusal")]
    public string? Refusal => null;
}

public sealed record ChatCompletionToolCallOut(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("function"), JsonPropertyOrder(1)] ChatCompletionFunctionCallOut Function)
{
    [JsonPropertyName("type")]
    public string Type => "function";
}

public sealed record ChatCompletionFunctionCallOut(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("arguments")] string Arguments);

public sealed record ChatCompletionUsage(
    [property: JsonPropertyName("prompt_tokens")] long PromptTokens,
    [property: JsonPropertyName("completion_tokens")] long CompletionTokens,
    [property: JsonPropertyName("total_tokens")] long TotalTokens,
    [property: JsonPropertyName("prompt_tokens_details")] PromptTokensDetails PromptTokensDetails,
    [property: JsonPropertyName("completion_tokens_details")] CompletionTokensDetails CompletionTokensDetails)
{
    /// <remarks>Gemini's cachedContentTokenCount becomes cached_tokens, its thoughtsTokenCount reasoning_tokens (counted in completion_tokens, as OpenAI counts them).</remarks>
    public static ChatCompletionUsage From(TokenUsage usage) => new(usage.InputTokens, usage.OutputTokens, usage.TotalTokens,
        new PromptTokensDetails(usage.CachedInputTokens), new CompletionTokensDetails(usage.ReasoningTokens));
}

public sealed record PromptTokensDetails([property: JsonPropertyName("cached_tokens")] long CachedTokens);

public sealed record CompletionTokensDetails([property: JsonPropertyName("reasoning_tokens")] long ReasoningTokens);

/// <summary>
/// What the gateway did for the request, in the gateway's own (camelCase) shape: every attempt,
/// the models that answered after an earlier one failed, the cost, the route and the latency.
/// </summary>
public sealed record GatewayExtras(
    [property: JsonPropertyName("attempts")] IReadOnlyList<AttemptRecord> Attempts,
    [property: JsonPropertyName("fallbacks")] IReadOnlyList<string> Fallbacks,
    [property: JsonPropertyName("costUsd")] decimal CostUsd,
    [property: JsonPropertyName("route")] GatewayRoute Route,
    [property: JsonPropertyName("latencyMs")] long LatencyMs)
{
    /// <summary>What the shared response cache did, when the request asked for it (<c>x-gateway-cache</c>).</summary>
    [JsonPropertyName("cache"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Caching.ResponseCacheInfo? Cache { get; init; }
}

public sealed record GatewayRoute(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("reason")] string Reason);

/// <summary>One <c>chat.completion.chunk</c> of a stream.</summary>
public sealed record ChatCompletionChunk(
    [property: JsonPropertyName("id"), JsonPropertyOrder(-2)] string Id,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("choices")] IReadOnlyList<ChatCompletionChunkChoice> Choices)
{
    [JsonPropertyName("object"), JsonPropertyOrder(-1)]
    public string Object => "chat.completion.chunk";

    /// <summary>The upstream's <c>system_fingerprint</c>, on every chunk once the upstream has sent it.</summary>
    [JsonPropertyName("system_fingerprint"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? SystemFingerprint { get; init; }

    /// <summary>Only on the last chunk, when <c>stream_options.include_usage</c> asked for it (then <c>choices</c> is empty).</summary>
    [JsonPropertyName("usage"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ChatCompletionUsage? Usage { get; init; }

    /// <summary>Only on the last chunk.</summary>
    [JsonPropertyName("x_gateway"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public GatewayExtras? Gateway { get; init; }
}

public sealed record ChatCompletionChunkChoice(
    [property: JsonPropertyName("delta")] ChatCompletionDelta Delta,
    [property: JsonPropertyName("finish_reason")] string? FinishReason)
{
    [JsonPropertyName("index"), JsonPropertyOrder(-1)]
    public int Index => 0;

    [JsonPropertyName("logprobs")]
    public object? Logprobs => null;
}

public sealed record ChatCompletionDelta
{
    [JsonPropertyName("role"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Role { get; init; }

    [JsonPropertyName("content"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Content { get; init; }

    [JsonPropertyName("tool_calls"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<ChatCompletionToolCallDelta>? ToolCalls { get; init; }
}

/// <summary>A tool call in a stream; the gateway's providers deliver whole calls, so each arrives in one delta.</summary>
public sealed record ChatCompletionToolCallDelta(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("function"), JsonPropertyOrder(1)] ChatCompletionFunctionCallOut Function)
{
    [JsonPropertyName("type")]
    public string Type => "function";
}

/// <summary>
/// The JSON settings of the OpenAI shapes: exact, case-sensitive names from the attributes; the
/// gateway's own records inside <c>x_gateway</c> (attempts) keep their camelCase names.
/// </summary>
public static class OpenAIJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.General)
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        // A JSON API, never embedded in HTML: write "°C" and \" as OpenAI does, not \u00B0C and \u0022.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Tool-call arguments as OpenAI sends them: compact JSON text.</summary>
    public static readonly JsonSerializerOptions Arguments = new(AIJsonUtilities.DefaultOptions) { WriteIndented = false };
}
