using Microsoft.Extensions.AI;

namespace Ai.Gateway.Prompts;

/// <summary>One chat message: <c>system</c>, <c>user</c> or <c>assistant</c>.</summary>
public sealed record PromptMessage(string Role, string Content)
{
    public static PromptMessage FromSystem(string content) => new("system", content);

    public static PromptMessage FromUser(string content) => new("user", content);

    public static PromptMessage FromAssistant(string content) => new("assistant", content);

    public ChatMessage ToChatMessage() => new(new ChatRole(Role), Content);
}
