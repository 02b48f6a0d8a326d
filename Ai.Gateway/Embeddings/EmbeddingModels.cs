using System.Text.Json;
using System.Text.Json.Serialization;
using Ai.Gateway.OpenAICompat;

namespace Ai.Gateway.Embeddings;

/// <summary>
/// The body of <c>POST /v1/embeddings</c>, as OpenAI defines it. Unknown fields are a 400, as at OpenAI.
/// </summary>
public sealed record EmbeddingRequest
{
    /// <summary>A string or an array of strings (token arrays are refused: the gateway's providers take text).</summary>
    [JsonPropertyName("input")] public JsonElement? Input { get; init; }

    /// <summary>An embedding model of the catalog; omitted or <c>auto</c>: <c>Gateway:DefaultEmbeddingModel</c>.</summary>
    [JsonPropertyName("model")] public string? Model { get; init; }

    /// <summary><c>float</c> (the default) or <c>base64</c> (little-endian float32 bytes).</summary>
    [JsonPropertyName("encoding_format")] public string? EncodingFormat { get; init; }

    /// <summary>The vector length to ask of the model (at most the model's <c>Dimensions</c>).</summary>
    [JsonPropertyName("dimensions")] public int? Dimensions { get; init; }

    /// <summary>Accepted and ignored: it does not change the answer.</summary>
    [JsonPropertyName("user")] public string? User { get; init; }
}

/// <summary>OpenAI's embedding list, plus the gateway's extras in <c>x_gateway</c> (OpenAI SDKs ignore unknown fields).</summary>
public sealed record EmbeddingList(
    [property: JsonPropertyName("data")] IReadOnlyList<EmbeddingItem> Data,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("usage")] EmbeddingUsage Usage,
    [property: JsonPropertyName("x_gateway")] GatewayExtras Gateway)
{
    [JsonPropertyName("object"), JsonPropertyOrder(-1)]
    public string Object => "list";
}

/// <summary>One vector: <c>embedding</c> is an array of numbers, or a base64 string with <c>encoding_format: "base64"</c>.</summary>
public sealed record EmbeddingItem(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("embedding")] object Embedding)
{
    [JsonPropertyName("object"), JsonPropertyOrder(-1)]
    public string Object => "embedding";
}

public sealed record EmbeddingUsage(
    [property: JsonPropertyName("prompt_tokens")] long PromptTokens,
    [property: JsonPropertyName("total_tokens")] long TotalTokens);
