using System.Text.Json;
using System.Text.Json.Serialization;

namespace Ai.Gateway.OpenAICompat;

/// <summary>
/// The body of <c>POST /v1/chat/completions</c>, as OpenAI defines it. Unknown fields are a 400
/// (as at OpenAI); fields marked "ignored" are accepted and have no effect; fields marked
/// "unsupported" are a 400 when set.
/// </summary>
public sealed record ChatCompletionRequest
{
    /// <summary>A catalog model id; omitted or <c>auto</c>: the router's default.</summary>
    [JsonPropertyName("model")] public string? Model { get; init; }

    [JsonPropertyName("messages")] public IReadOnlyList<ChatCompletionMessage?>? Messages { get; init; }

    [JsonPropertyName("tools")] public IReadOnlyList<ChatCompletionTool?>? Tools { get; init; }

    /// <summary><c>none</c>, <c>auto</c>, <c>required</c> or <c>{ "type": "function", "function": { "name" } }</c>.</summary>
    [JsonPropertyName("tool_choice")] public JsonElement? ToolChoice { get; init; }

    [JsonPropertyName("parallel_tool_calls")] public bool? ParallelToolCalls { get; init; }

    [JsonPropertyName("response_format")] public ChatCompletionResponseFormat? ResponseFormat { get; init; }

    [JsonPropertyName("temperature")] public float? Temperature { get; init; }

    [JsonPropertyName("top_p")] public float? TopP { get; init; }

    /// <summary>Deprecated by OpenAI in favour of <see cref="MaxCompletionTokens"/>; either works.</summary>
    [JsonPropertyName("max_tokens")] public int? MaxTokens { get; init; }

    [JsonPropertyName("max_completion_tokens")] public int? MaxCompletionTokens { get; init; }

    /// <summary>A string or up to four strings.</summary>
    [JsonPropertyName("stop")] public JsonElement? Stop { get; init; }

    [JsonPropertyName("seed")] public long? Seed { get; init; }

    [JsonPropertyName("frequency_penalty")] public float? FrequencyPenalty { get; init; }

    [JsonPropertyName("presence_penalty")] public float? PresencePenalty { get; init; }

    /// <summary><c>none</c>, <c>minimal</c>, <c>low</c>, <c>medium</c>, <c>high</c>.</summary>
    [JsonPropertyName("reasoning_effort")] public string? ReasoningEffort { get; init; }

    [JsonPropertyName("stream")] public bool? Stream { get; init; }

    [JsonPropertyName("stream_options")] public ChatCompletionStreamOptions? StreamOptions { get; init; }

    /// <summary>Only 1.</summary>
    [JsonPropertyName("n")] public int? N { get; init; }

    /// <summary>Only <c>["text"]</c>.</summary>
    [JsonPropertyName("modalities")] public IReadOnlyList<string?>? Modalities { get; init; }

    // Ignored: they do not change the answer.
    [JsonPropertyName("user")] public string? User { get; init; }

    [JsonPropertyName("metadata")] public JsonElement? Metadata { get; init; }

    [JsonPropertyName("store")] public bool? Store { get; init; }

    [JsonPropertyName("service_tier")] public string? ServiceTier { get; init; }

    [JsonPropertyName("safety_identifier")] public string? SafetyIdentifier { get; init; }

    [JsonPropertyName("prompt_cache_key")] public string? PromptCacheKey { get; init; }

    [JsonPropertyName("verbosity")] public string? Verbosity { get; init; }

    // Unsupported: a 400 when set.
    [JsonPropertyName("logprobs")] public bool? Logprobs { get; init; }

    [JsonPropertyName("top_logprobs")] public int? TopLogprobs { get; init; }

    [JsonPropertyName("logit_bias")] public JsonElement? LogitBias { get; init; }

    [JsonPropertyName("audio")] public JsonElement? Audio { get; init; }

    [JsonPropertyName("prediction")] public JsonElement? Prediction { get; init; }

    [JsonPropertyName("web_search_options")] public JsonElement? WebSearchOptions { get; init; }

    [JsonPropertyName("functions")] public JsonElement? Functions { get; init; }

    [JsonPropertyName("function_call")] public JsonElement? FunctionCall { get; init; }
}

/// <summary>One message: roles <c>system</c>, <c>developer</c>, <c>user</c>, <c>assistant</c>, <c>tool</c>.</summary>
public sealed record ChatCompletionMessage
{
    [JsonPropertyName("role")] public string? Role { get; init; }

    /// <summary>A string, or an array of parts (<c>text</c>; <c>image_url</c> in user messages).</summary>
    [JsonPropertyName("content")] public JsonElement? Content { get; init; }

    [JsonPropertyName("name")] public string? Name { get; init; }

    [JsonPropertyName("tool_calls")] public IReadOnlyList<ChatCompletionToolCall?>? ToolCalls { get; init; }

    [JsonPropertyName("tool_call_id")] public string? ToolCallId { get; init; }

    /// <summary>An assistant's earlier refusal; ignored.</summary>
    [JsonPropertyName("refusal")] public string? Refusal { get; init; }

    [JsonPropertyName("function_call")] public JsonElement? FunctionCall { get; init; }

    [JsonPropertyName("audio")] public JsonElement? Audio { get; init; }
}

public sealed record ChatCompletionToolCall
{
    [JsonPropertyName("id")] public string? Id { get; init; }

    [JsonPropertyName("type")] public string? Type { get; init; }

    [JsonPropertyName("function")] public ChatCompletionFunctionCall? Function { get; init; }
}

public sealed record ChatCompletionFunctionCall
{
    [JsonPropertyName("name")] public string? Name { get; init; }

    /// <summary>The arguments as a JSON object serialized to a string.</summary>
    [JsonPropertyName("arguments")] public string? Arguments { get; init; }
}

public sealed record ChatCompletionTool
{
    [JsonPropertyName("type")] public string? Type { get; init; }

    [JsonPropertyName("function")] public ChatCompletionFunction? Function { get; init; }
}

public sealed record ChatCompletionFunction
{
    [JsonPropertyName("name")] public string? Name { get; init; }

    [JsonPropertyName("description")] public string? Description { get; init; }

    /// <summary>A JSON Schema for the arguments object.</summary>
    [JsonPropertyName("parameters")] public JsonElement? Parameters { get; init; }

    [JsonPropertyName("strict")] public bool? Strict { get; init; }
}

public sealed record ChatCompletionResponseFormat
{
    /// <summary><c>text</c>, <c>json_object</c> or <c>json_schema</c>.</summary>
    [JsonPropertyName("type")] public string? Type { get; init; }

    [JsonPropertyName("json_schema")] public ChatCompletionJsonSchema? JsonSchema { get; init; }
}

public sealed record ChatCompletionJsonSchema
{
    [JsonPropertyName("name")] public string? Name { get; init; }

    [JsonPropertyName("description")] public string? Description { get; init; }

    [JsonPropertyName("schema")] public JsonElement? Schema { get; init; }

    [JsonPropertyName("strict")] public bool? Strict { get; init; }
}

public sealed record ChatCompletionStreamOptions
{
    [JsonPropertyName("include_usage")] public bool? IncludeUsage { get; init; }

    [JsonPropertyName("include_obfuscation")] public bool? IncludeObfuscation { get; init; }
}
