using Microsoft.Extensions.AI;

namespace Ai.Gateway.Usage;

/// <summary>Token counts of a request; output includes thinking tokens (billed as output).</summary>
public sealed record TokenUsage(long InputTokens, long OutputTokens, long TotalTokens)
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
        return new TokenUsage(input, output, usage.TotalTokenCount ?? input + output);
    }

    public TokenUsage Add(TokenUsage other) =>
        new(InputTokens + other.InputTokens, OutputTokens + other.OutputTokens, TotalTokens + other.TotalTokens);
}
