using System.Text.Json.Serialization;
using Microsoft.Extensions.AI;

namespace Ai.Gateway.Prompts;

/// <summary>A system prompt with few-shot examples (user/assistant pairs) for a kind of task.</summary>
public sealed record PromptPreset(
    string Name,
    PromptLanguage Language,
    string Description,
    [property: JsonPropertyName("system")] string SystemPrompt,
    IReadOnlyList<PromptMessage> Examples)
{
    /// <summary>The system message, then the examples; append the user's request to use it.</summary>
    public IReadOnlyList<PromptMessage> Messages => [PromptMessage.FromSystem(SystemPrompt), .. Examples];

    public List<ChatMessage> ToChatMessages() => Messages.Select(m => m.ToChatMessage()).ToList();
}
