using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Ai.Gateway.Providers;

/// <summary>
/// What an error body says, read from either shape we meet: Google RPC status
/// (<c>{"error":{code,message,status,details[]}}</c>, also wrapped in an array by Gemini's
/// OpenAI-compatible endpoint) or OpenAI's (<c>{"error":{message,type,code}}</c>).
/// </summary>
internal sealed partial record ProviderErrorBody(
    string? Message,
    string? Status,
    TimeSpan? RetryDelay,
    bool PerDayQuota,
    string? Reason)
{
    private const int MaxRawMessageLength = 300;

    public static ProviderErrorBody Parse(string? body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return new(null, null, null, false, null);
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Array && root.GetArrayLength() > 0)
            {
                root = root[0];
            }

            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error", out var error))
            {
                return FromError(error);
            }
        }
        catch (JsonException)
        {
        }

        // Not JSON (a proxy's HTML page, a plain-text 502): keep a short, single-line excerpt.
        var raw = body.ReplaceLineEndings(" ").Trim();
        return new(raw.Length > MaxRawMessageLength ? raw[..MaxRawMessageLength] + "…" : raw, null, null, false, null);
    }

    public static ProviderErrorBody FromError(JsonElement error)
    {
        if (error.ValueKind == JsonValueKind.String)
        {
            return new(error.GetString(), null, null, false, null);
        }

        if (error.ValueKind != JsonValueKind.Object)
        {
            return new(null, null, null, false, null);
        }

        var message = StringOf(error, "message");
        // Google puts the canonical word in "status"; OpenAI puts a code (string) in "code" or a "type".
        var status = StringOf(error, "status") ?? StringOf(error, "code") ?? StringOf(error, "type");
        TimeSpan? retryDelay = null;
        var perDay = false;
        string? reason = null;

        if (error.TryGetProperty("details", out var details) && details.ValueKind == JsonValueKind.Array)
        {
            foreach (var detail in details.EnumerateArray())
            {
                var type = StringOf(detail, "@type") ?? "";
                if (type.EndsWith("google.rpc.RetryInfo", StringComparison.Ordinal))
                {
                    retryDelay = ParseDuration(StringOf(detail, "retryDelay"));
                }
                else if (type.EndsWith("google.rpc.QuotaFailure", StringComparison.Ordinal)
                         && detail.TryGetProperty("violations", out var violations)
                         && violations.ValueKind == JsonValueKind.Array)
                {
                    perDay |= violations.EnumerateArray().Any(v =>
                        StringOf(v, "quotaId")?.Contains("PerDay", StringComparison.OrdinalIgnoreCase) == true);
                }
                else if (type.EndsWith("google.rpc.ErrorInfo", StringComparison.Ordinal))
                {
                    reason = StringOf(detail, "reason");
                }
            }
        }

        // Some 429s carry the delay only in the text ("Please retry in 47.434392449s.").
        retryDelay ??= message is null ? null : ParseRetryHint(message);
        return new(message, status, retryDelay, perDay, reason);
    }

    /// <summary>Parses a protobuf Duration string such as <c>26s</c> or <c>12.771204034s</c>, whatever the culture.</summary>
    public static TimeSpan? ParseDuration(string? value)
    {
        if (value is null)
        {
            return null;
        }

        var text = value.Trim();
        if (!text.EndsWith('s'))
        {
            return null;
        }

        return double.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds)
               && seconds >= 0 && seconds < TimeSpan.MaxValue.TotalSeconds
            ? TimeSpan.FromSeconds(seconds)
            : null;
    }

    /// <summary>
    /// A delay given only in the message, as Go-style durations: "Please retry in 47.434392449s.", "retry in 1m5.5s",
    /// "retry in 1h2m", "retry in 750ms".
    /// </summary>
    internal static TimeSpan? ParseRetryHint(string message)
    {
        var match = RetryHint().Match(message);
        if (!match.Success || match.Groups["value"].Value.Length == 0)
        {
            return null;
        }

        double Part(string name) => match.Groups[name].Success
            ? double.Parse(match.Groups[name].ValueSpan, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture)
            : 0;

        var seconds = (Part("h") * 3600) + (Part("m") * 60) + Part("s") + (Part("ms") / 1000);
        return seconds >= 0 && seconds < TimeSpan.MaxValue.TotalSeconds ? TimeSpan.FromSeconds(seconds) : null;
    }

    private static string? StringOf(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value)
            ? value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Number => value.GetRawText(),
                _ => null,
            }
            : null;

    [GeneratedRegex(@"retry (?:in|after) (?<value>(?:(?<h>[0-9]+(?:\.[0-9]+)?)h)?(?:(?<m>[0-9]+(?:\.[0-9]+)?)m(?!s))?(?:(?<s>[0-9]+(?:\.[0-9]+)?)s|(?<ms>[0-9]+(?:\.[0-9]+)?)ms)?)\b",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex RetryHint();
}
