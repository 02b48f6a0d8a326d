using System.Text.Json;
using System.Text.Json.Serialization;

namespace Ai.Gateway.Prompts;

/// <summary>A prompt built by a format: the text, and the same as chat messages.</summary>
public sealed record RenderedPrompt(
    string Format,
    PromptLanguage Language,
    [property: JsonPropertyName("system"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? SystemPrompt,
    string Prompt)
{
    /// <summary>
    /// The JSON Schema the answer should match, when the format knows one (<c>json</c> with a schema,
    /// <c>extraction</c>), so the caller can check the model's answer.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonElement? ResponseSchema { get; init; }

    /// <summary>The system prompt (if any), then the prompt as the user's message.</summary>
    public IReadOnlyList<PromptMessage> Messages => SystemPrompt is null
        ? [PromptMessage.FromUser(Prompt)]
        : [PromptMessage.FromSystem(SystemPrompt), PromptMessage.FromUser(Prompt)];
}
