using System.Globalization;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using StackExchange.Redis;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Redis unreachable, too slow, loading, read-only during a failover or a cluster without a primary for a slot:
/// the request could not be served now and may be tried again. Answer 503 problem details with a
/// <c>Retry-After</c>, never 500 — nothing was changed half-way (the stores write with one atomic command or script).
/// </summary>
internal sealed class StoreUnavailableExceptionHandler(IProblemDetailsService problemDetails) : IExceptionHandler
{
    /// <summary>What the client is told to wait before trying again.</summary>
    internal const int RetryAfterSeconds = 2;

    private static readonly string[] TransientServerErrors = ["LOADING", "BUSY", "READONLY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN"];

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (!IsStoreUnavailable(exception) || httpContext.Response.HasStarted)
        {
            return false;
        }

        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        httpContext.Response.Headers[HeaderNames.RetryAfter] = RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails =
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = "Storage unavailable",
                Detail = "The service's Redis did not answer; nothing was changed. Try again shortly.",
            },
        });
    }

    internal static bool IsStoreUnavailable(Exception exception) => exception switch
    {
        RedisConnectionException or RedisTimeoutException => true,
        RedisServerException server => TransientServerErrors.Any(prefix => server.Message.StartsWith(prefix, StringComparison.Ordinal)),
        AggregateException aggregate => aggregate.InnerExceptions.Any(IsStoreUnavailable),
        _ => exception.InnerException is { } inner && IsStoreUnavailable(inner),
    };
}
