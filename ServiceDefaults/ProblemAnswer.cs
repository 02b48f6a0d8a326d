using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Problem details written outside an endpoint (authentication, authorization, request limits).
/// <c>IProblemDetailsService.WriteAsync</c> throws when the client's Accept header rules JSON out, which turned a
/// 401/403/413 into a 500; a <see cref="ProblemHttpResult"/> writes through the same service and falls back to
/// <c>application/problem+json</c> — what the endpoints' own problems do.
/// </summary>
internal static class ProblemAnswer
{
    public static Task WriteAsync(HttpContext context, ProblemDetails problem) => TypedResults.Problem(problem).ExecuteAsync(context);
}
