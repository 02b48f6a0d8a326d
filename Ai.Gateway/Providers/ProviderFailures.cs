using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace Ai.Gateway.Providers;

/// <summary>Turns an HTTP failure from any provider into a <see cref="ModelProviderException"/>.</summary>
internal static class ProviderFailures
{
    public static ModelProviderException FromHttpStatus(
        string provider,
        string? model,
        int status,
        ProviderErrorBody error,
        TimeSpan? retryAfterHeader,
        string? secret)
    {
        var kind = Classify(status, error);
        var retryAfter = error.RetryDelay ?? retryAfterHeader;
        var detail = Redact(error.Message, secret) ?? "(no error message)";
        var message = $"{provider} model '{model}' failed: HTTP {status}{(error.Status is null ? "" : " " + error.Status)}: {detail}";
        return new ModelProviderException(message, provider, model, kind, (HttpStatusCode)status, error.Status, retryAfter);
    }

    public static ModelFailureKind Classify(int status, ProviderErrorBody error) => status switch
    {
        429 => error.PerDayQuota ? ModelFailureKind.QuotaExhausted : ModelFailureKind.RateLimited,
        // Gemini answers a bad key with 400 INVALID_ARGUMENT; its ErrorInfo reason tells it apart.
        400 when error.Reason is "API_KEY_INVALID" or "API_KEY_EXPIRED" => ModelFailureKind.Unauthorized,
        401 or 403 => ModelFailureKind.Unauthorized,
        404 => ModelFailureKind.NotFound,
        408 => ModelFailureKind.Timeout,
        >= 500 => ModelFailureKind.Transient,
        _ => ModelFailureKind.InvalidRequest,
    };

    /// <summary>Reads <c>Retry-After</c> (seconds or a date) or OpenAI's <c>retry-after-ms</c>.</summary>
    public static TimeSpan? RetryAfterFromHeaders(HttpResponseHeaders headers, DateTimeOffset now)
    {
        if (headers.TryGetValues("retry-after-ms", out var ms)
            && double.TryParse(ms.FirstOrDefault(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var millis)
            && millis >= 0)
        {
            return TimeSpan.FromMilliseconds(millis);
        }

        return FromRetryAfter(headers.RetryAfter, now);
    }

    public static TimeSpan? FromRetryAfter(RetryConditionHeaderValue? retryAfter, DateTimeOffset now)
    {
        if (retryAfter?.Delta is { } delta)
        {
            return delta;
        }

        return retryAfter?.Date is { } date ? (date > now ? date - now : TimeSpan.Zero) : null;
    }

    /// <summary>A cancellation that was not the caller's: the request's deadline (or a shorter network timeout) fired.</summary>
    public static ModelProviderException TimedOut(string provider, string model, Deadline deadline, Exception cancellation) =>
        new($"{provider} model '{model}' did not answer within {deadline.Limit}.", provider, model, ModelFailureKind.Timeout, innerException: cancellation);

    /// <summary>Never let a key reach an exception message or a log, even when a provider echoes it.</summary>
    public static string? Redact(string? text, string? secret) =>
        text is null || string.IsNullOrEmpty(secret) ? text : text.Replace(secret, "***", StringComparison.Ordinal);
}
