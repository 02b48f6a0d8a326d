using Microsoft.Extensions.AI;

namespace Ai.Gateway.Generation;

/// <summary>What an answer says about the model's tool calls.</summary>
internal static class ToolRounds
{
    /// <summary>
    /// True when the answer holds a tool call without a result: the function-invocation layer (when there is one)
    /// answers every call it ran, so an unanswered call goes back to the caller and the answer is not final (its
    /// rounds ran out, or the caller runs the tools).
    /// </summary>
    public static bool WantsTools(ChatResponse response)
    {
        var contents = response.Messages.SelectMany(m => m.Contents).ToList();
        var answered = contents.OfType<FunctionResultContent>().Select(r => r.CallId).ToHashSet(StringComparer.Ordinal);
        return contents.OfType<FunctionCallContent>().Any(c => !answered.Contains(c.CallId));
    }
}
