using System.Text.Json;
using System.Text.Json.Serialization;

namespace Ai.Gateway.Providers.Gemini;

// The parts of Gemini's GenerateContentResponse that the client reads. Every field is optional on
// the wire (stream chunks carry only some), so every property is nullable. Requests are built as
// JsonObject instead (GeminiRequestBuilder) to keep exact control over which fields are sent.

internal sealed class GeminiResponse
{
    public List<GeminiCandidate>? Candidates { get; set; }
    public GeminiPromptFeedback? PromptFeedback { get; set; }
    public GeminiUsageMetadata? UsageMetadata { get; set; }
    public string? ModelVersion { get; set; }
    public string? ResponseId { get; set; }

    // Kept as a string: RFC 3339 with nanoseconds does not fit DateTimeOffset's JSON reader.
    public string? CreateTime { get; set; }

    // Present only when an error arrives inside a stream.
    public JsonElement? Error { get; set; }
}

internal sealed class GeminiCandidate
{
    public GeminiContent? Content { get; set; }
    public string? FinishReason { get; set; }
    public string? FinishMessage { get; set; }
}

internal sealed class GeminiContent
{
    public string? Role { get; set; }
    public List<GeminiPart>? Parts { get; set; }
}

internal sealed class GeminiPart
{
    public string? Text { get; set; }
    public bool? Thought { get; set; }
    public string? ThoughtSignature { get; set; }
    public GeminiFunctionCall? FunctionCall { get; set; }
    public GeminiBlob? InlineData { get; set; }
    public GeminiFileData? FileData { get; set; }
}

internal sealed class GeminiFunctionCall
{
    public string? Id { get; set; }
    public string? Name { get; set; }
    public JsonElement? Args { get; set; }
}

internal sealed class GeminiBlob
{
    public string? MimeType { get; set; }
    public string? Data { get; set; }
}

internal sealed class GeminiFileData
{
    public string? MimeType { get; set; }
    public string? FileUri { get; set; }
}

internal sealed class GeminiPromptFeedback
{
    public string? BlockReason { get; set; }
    public string? BlockReasonMessage { get; set; }
}

internal sealed class GeminiUsageMetadata
{
    public long? PromptTokenCount { get; set; }
    public long? CachedContentTokenCount { get; set; }
    public long? CandidatesTokenCount { get; set; }
    public long? ThoughtsTokenCount { get; set; }
    public long? ToolUsePromptTokenCount { get; set; }
    public long? TotalTokenCount { get; set; }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(GeminiResponse))]
internal sealed partial class GeminiJsonContext : JsonSerializerContext;
