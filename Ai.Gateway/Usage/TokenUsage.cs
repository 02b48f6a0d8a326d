using Microsoft.Extensions.AI;

namespace Ai.Gateway.Usage;

/// <summary>
/// Token counts of a request; output includes thinking tokens (billed as output). <see cref="CachedInputTokens"/>
/// (part of the input, read from the provider's cache) and <see cref="ReasoningTokens"/> (part of the output) say
/// what the provider reported of each; 0 when it did not say.
/// </summary>
public sealed record TokenUsage(long InputTokens, long OutputTokens, long TotalTokens, long CachedInputTokens = 0, long ReasoningTokens = 0)
{
    public static readonly TokenUsage None = new(0, 0, 0);

    public static TokenUsage From(UsageDetails? usage)
    {
        if (usage is null)
        {
            return None;
        }

        var input = usage.InputTokenCount ?? 0;
        var output = (usage.OutputTokenCount ?? 0) + (usage.ReasoningTokenCount ?? 0);
        return new TokenUsage(input, output, usage.TotalTokenCount ?? input + output, usage.CachedInputTokenCount ?? 0, usage.ReasoningTokenCount ?? 0);
    }

    public TokenUsage Add(TokenUsage other) =>
        new(InputTokens + other.InputTokens, OutputTokens + other.OutputTokens, TotalTokens + other.TotalTokens,
            CachedInputTokens + other.CachedInputTokens, ReasoningTokens + other.ReasoningTokens);
}
