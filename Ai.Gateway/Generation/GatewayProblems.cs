using System.Globalization;
using Ai.Gateway.Policy;
using Ai.Gateway.Providers;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Ai.Gateway.Generation;

/// <summary>Maps what can go wrong in a generation to problem details with the right status.</summary>
public static class GatewayProblems
{
    public const string MidStreamTitle = "The model failed in the middle of its answer";
    public const string BlockedTitle = "The request was blocked by the model's safety filters";

    /// <summary>The <c>code</c> of every safety block on /v1/generate: the problem, a batch item's error, a stream's error event.</summary>
    public const string ContentBlockedCode = "content_blocked";

    /// <summary>
    /// OpenAI's SDKs retry 408/409/429/5xx on their own unless the answer says <c>x-should-retry: false</c>. The gateway
    /// says it on every failure it answers: it already retried and fell back, or the request cannot succeed as sent; only a
    /// 429 whose wait is short says <c>true</c>.
    /// </summary>
    public const string ShouldRetryHeader = "x-should-retry";

    /// <summary>Longest Retry-After for which a client is told to retry (OpenAI's SDKs wait at most about a minute).</summary>
    public static readonly TimeSpan ClientRetryLimit = TimeSpan.FromSeconds(60);

    /// <summary>The problem for a failure, or null when the exception is not one the gateway expects.</summary>
    public static IResult? For(Exception exception, HttpContext? http = null)
    {
        var result = Problem(exception, http);
        if (result is not null && http is not null && !http.Response.Headers.ContainsKey(ShouldRetryHeader))
        {
            http.Response.Headers[ShouldRetryHeader] = "false";
        }

        return result;
    }

    private static IResult? Problem(Exception exception, HttpContext? http) => exception switch
    {
        GenerateValidationException invalid => TypedResults.ValidationProblem(invalid.Errors, title: "The request is invalid"),
        InvalidModelOutputException output => TypedResults.Problem(
            statusCode: StatusCodes.Status422UnprocessableEntity,
            title: "The model's answer did not match the requested JSON",
            detail: "The answer was checked, one repair was asked for, and it still did not match.",
            extensions: new Dictionary<string, object?> { ["errors"] = output.Errors, ["output"] = output.Output }),
        AllModelsFailedException { AllRateLimited: true } limited => RateLimited(limited, http),
        AllModelsFailedException { ContentBlocked: true } blocked => TypedResults.Problem(
            statusCode: StatusCodes.Status422UnprocessableEntity,
            title: BlockedTitle,
            detail: blocked.InnerException?.Message,
            extensions: new Dictionary<string, object?> { ["code"] = ContentBlockedCode, ["attempts"] = blocked.Attempts }),
        // A stream stopped by a safety filter (no fallback once its model answered).
        ModelProviderException { Kind: ModelFailureKind.ContentBlocked } block => TypedResults.Problem(
            statusCode: StatusCodes.Status422UnprocessableEntity,
            title: BlockedTitle,
            detail: block.Message,
            extensions: new Dictionary<string, object?> { ["code"] = ContentBlockedCode, ["model"] = block.Model }),
        AllModelsFailedException failed => TypedResults.Problem(
            statusCode: StatusCodes.Status502BadGateway,
            title: "No model could answer",
            detail: failed.Message,
            extensions: new Dictionary<string, object?> { ["attempts"] = failed.Attempts }),
        GatewayTimeoutException timeout => TypedResults.Problem(statusCode: StatusCodes.Status504GatewayTimeout, title: "The request timed out", detail: timeout.Message),
        // A stream that failed after its model had answered (no fallback then): the cause, not a 500.
        ModelProviderException failure => TypedResults.Problem(
            statusCode: StatusCodes.Status502BadGateway,
            title: MidStreamTitle,
            detail: failure.Message,
            extensions: new Dictionary<string, object?> { ["model"] = failure.Model, ["kind"] = failure.Kind.ToString() }),
        _ => null,
    };

    private static ProblemHttpResult RateLimited(AllModelsFailedException limited, HttpContext? http)
    {
        var retryAfter = (int)Math.Ceiling((limited.RetryAfter ?? TimeSpan.FromSeconds(1)).TotalSeconds);
        if (http is not null)
        {
            var headers = http.Response.Headers;
            headers.RetryAfter = Math.Max(retryAfter, 1).ToString(CultureInfo.InvariantCulture);
            // A per-minute limit is worth the SDK's own retry; a wait until tomorrow's quota is not.
            headers[ShouldRetryHeader] = retryAfter <= ClientRetryLimit.TotalSeconds ? "true" : "false";
            if (limited.PrimaryLimit is { } bucket)
            {
                headers["RateLimit-Remaining"] = bucket.Remaining.ToString(CultureInfo.InvariantCulture);
                headers["RateLimit-Reset"] = Math.Max(1, (int)Math.Ceiling(bucket.ResetAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                if (bucket.DailyRemaining is { } daily)
                {
                    headers["RateLimit-Daily-Remaining"] = daily.ToString(CultureInfo.InvariantCulture);
                }
            }
        }

        return TypedResults.Problem(
            statusCode: StatusCodes.Status429TooManyRequests,
            title: "Rate limited",
            detail: $"Every model of the chain is over its rate limit or quota; retry after {retryAfter} s.",
            extensions: new Dictionary<string, object?> { ["attempts"] = limited.Attempts, ["retryAfterSeconds"] = retryAfter });
    }
}
