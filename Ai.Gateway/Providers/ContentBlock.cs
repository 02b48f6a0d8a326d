using Microsoft.Extensions.AI;

namespace Ai.Gateway.Providers;

/// <summary>
/// A safety block reported inside a successful answer (Gemini answers HTTP 200 for a blocked prompt or
/// a candidate stopped by a safety filter). Providers mark it with <see cref="ChatFinishReason.ContentFilter"/>
/// and an <see cref="ErrorContent"/> whose <see cref="ErrorContent.ErrorCode"/> is the provider's reason.
/// </summary>
/// <param name="Reason">The provider's reason word, e.g. <c>SAFETY</c>, <c>PROHIBITED_CONTENT</c>.</param>
/// <param name="Message">The provider's explanation, when it gave one.</param>
/// <param name="PromptBlocked">True when the prompt itself was refused (no candidate was generated).</param>
public sealed record ContentBlock(string Reason, string? Message, bool PromptBlocked)
{
    /// <summary><see cref="ErrorContent.Details"/> of a blocked prompt.</summary>
    public const string PromptBlockedDetails = "promptFeedback.blockReason";

    /// <summary><see cref="ErrorContent.Details"/> of a candidate stopped by a filter.</summary>
    public const string CandidateBlockedDetails = "candidate.finishReason";

    public ModelProviderException ToException(string provider, string? model) =>
        new($"{provider} model '{model}' blocked the {(PromptBlocked ? "prompt" : "response")}: {Reason}{(Message is null ? "" : " — " + Message)}",
            provider, model, ModelFailureKind.ContentBlocked, providerStatus: Reason);

    /// <summary>The block a response reports, or null when it finished for any other reason.</summary>
    public static ContentBlock? Find(ChatResponse response) =>
        Find(response.FinishReason, response.Messages.SelectMany(m => m.Contents));

    /// <summary>The block a stream update reports (its finish reason is ContentFilter), or null.</summary>
    public static ContentBlock? Find(ChatResponseUpdate update) => Find(update.FinishReason, update.Contents);

    private static ContentBlock? Find(ChatFinishReason? finishReason, IEnumerable<AIContent> contents)
    {
        if (finishReason != ChatFinishReason.ContentFilter)
        {
            return null;
        }

        var error = contents.OfType<ErrorContent>().FirstOrDefault(e => e.Details is PromptBlockedDetails or CandidateBlockedDetails);
        return new ContentBlock(error?.ErrorCode ?? "CONTENT_FILTER", error?.Message, error?.Details == PromptBlockedDetails);
    }
}
