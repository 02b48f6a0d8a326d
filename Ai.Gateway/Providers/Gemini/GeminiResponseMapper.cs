using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;

namespace Ai.Gateway.Providers.Gemini;

/// <summary>Maps Gemini's response JSON (a unary body or one stream chunk) onto Microsoft.Extensions.AI contents.</summary>
internal static partial class GeminiResponseMapper
{
    private static readonly HashSet<string> SafetyFinishReasons = new(StringComparer.Ordinal)
    {
        "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
        "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION",
    };

    /// <summary>Reads one response; a body that is not a JSON object throws <see cref="JsonException"/>.</summary>
    public static GeminiResponse Parse(string json) =>
        JsonSerializer.Deserialize(json, GeminiJsonContext.Default.GeminiResponse)
        ?? throw new JsonException("The body is JSON null.");

    /// <summary>
    /// The contents of candidate 0 (Gemini returns one unless asked for more), then any safety block
    /// as an <see cref="ErrorContent"/>. Signatures follow their part as a <see cref="TextReasoningContent"/>
    /// with <see cref="TextReasoningContent.ProtectedData"/>, which the request builder re-attaches.
    /// </summary>
    public static List<AIContent> Contents(GeminiResponse response)
    {
        var contents = new List<AIContent>();
        var candidate = response.Candidates is { Count: > 0 } candidates ? candidates[0] : null;
        foreach (var part in candidate?.Content?.Parts ?? [])
        {
            if (part.Thought == true)
            {
                contents.Add(new TextReasoningContent(part.Text) { ProtectedData = part.ThoughtSignature });
                continue;
            }

            AIContent? content = part switch
            {
                { FunctionCall: { Name: { } name } call } => new FunctionCallContent(
                    string.IsNullOrEmpty(call.Id) ? SynthesizeCallId() : call.Id, name, Arguments(call.Args)),
                // An empty text part may exist only to carry a signature; keep it so the signature has a home.
                { Text: { } text } when text.Length > 0 || part.ThoughtSignature is not null => new TextContent(text),
                { InlineData: { Data: { } data } blob } => new DataContent(Convert.FromBase64String(data), blob.MimeType ?? "application/octet-stream"),
                { FileData: { FileUri: { } uri } file } => new UriContent(new Uri(uri), file.MimeType ?? "application/octet-stream"),
                _ => null,
            };
            if (content is null)
            {
                continue;
            }

            contents.Add(content);
            if (part.ThoughtSignature is { } signature)
            {
                contents.Add(new TextReasoningContent(null) { ProtectedData = signature });
            }
        }

        if (response.PromptFeedback?.BlockReason is { } blockReason)
        {
            contents.Add(new ErrorContent(response.PromptFeedback.BlockReasonMessage ?? $"The prompt was blocked ({blockReason}).")
            {
                ErrorCode = blockReason,
                Details = ContentBlock.PromptBlockedDetails,
            });
        }
        else if (candidate?.FinishReason is { } finish && SafetyFinishReasons.Contains(finish))
        {
            contents.Add(new ErrorContent(candidate.FinishMessage ?? $"The response was blocked ({finish}).")
            {
                ErrorCode = finish,
                Details = ContentBlock.CandidateBlockedDetails,
            });
        }

        return contents;
    }

    /// <summary>
    /// STOP also ends a turn that calls functions, so <paramref name="sawFunctionCall"/> turns it into
    /// ToolCalls; every safety-class reason, and a blocked prompt, becomes ContentFilter.
    /// </summary>
    public static ChatFinishReason? FinishReason(GeminiResponse response, bool sawFunctionCall)
    {
        if (response.PromptFeedback?.BlockReason is not null)
        {
            return ChatFinishReason.ContentFilter;
        }

        var raw = response.Candidates is { Count: > 0 } candidates ? candidates[0].FinishReason : null;
        return raw switch
        {
            null => null,
            "STOP" or "FINISH_REASON_UNSPECIFIED" => sawFunctionCall ? ChatFinishReason.ToolCalls : ChatFinishReason.Stop,
            "MAX_TOKENS" => ChatFinishReason.Length,
            "MALFORMED_FUNCTION_CALL" or "UNEXPECTED_TOOL_CALL" => ChatFinishReason.ToolCalls,
            _ when SafetyFinishReasons.Contains(raw) => ChatFinishReason.ContentFilter,
            _ => new ChatFinishReason(raw.ToLowerInvariant()),
        };
    }

    public static UsageDetails? Usage(GeminiUsageMetadata? usage)
    {
        if (usage is null)
        {
            return null;
        }

        var details = new UsageDetails
        {
            InputTokenCount = usage.PromptTokenCount,
            CachedInputTokenCount = usage.CachedContentTokenCount,
            OutputTokenCount = usage.CandidatesTokenCount,
            ReasoningTokenCount = usage.ThoughtsTokenCount,
            TotalTokenCount = usage.TotalTokenCount,
        };
        if (usage.ToolUsePromptTokenCount is { } toolUse)
        {
            (details.AdditionalCounts ??= [])["ToolUsePromptTokenCount"] = toolUse;
        }

        return details;
    }

    /// <summary>RFC 3339 with up to nine fractional digits; .NET reads at most seven.</summary>
    public static DateTimeOffset? CreatedAt(string? createTime)
    {
        if (createTime is null)
        {
            return null;
        }

        var trimmed = LongFraction().Replace(createTime, "$1");
        return DateTimeOffset.TryParse(trimmed, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value) ? value : null;
    }

    private static string SynthesizeCallId() => GeminiRequestBuilder.SynthesizedCallIdPrefix + Guid.NewGuid().ToString("N");

    private static Dictionary<string, object?> Arguments(JsonElement? args)
    {
        var arguments = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (args is { ValueKind: JsonValueKind.Object } element)
        {
            foreach (var property in element.EnumerateObject())
            {
                arguments[property.Name] = property.Value.Clone();
            }
        }

        return arguments;
    }

    [GeneratedRegex(@"(\.[0-9]{7})[0-9]+")]
    private static partial Regex LongFraction();
}
