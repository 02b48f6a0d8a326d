using System.Globalization;
using Ai.Gateway.Usage;
using Microsoft.AspNetCore.Http.HttpResults;
using StackExchange.Redis;

namespace Ai.Gateway.Apis;

public static class UsageApi
{
    public static IEndpointRouteBuilder MapUsageApi(this IEndpointRouteBuilder app)
    {
        app.MapGroup("/v1").WithTags("Usage").RequireAuthorization(ApiRoles.Client)
            .MapGet("/usage", GetUsage)
            .WithName("GetUsage")
            .WithSummary("Usage per model for a UTC day (default today), summed over every replica: requests, tokens, cost, denials, fallbacks, cache hits and the cost they saved");

        return app;
    }

    public sealed record UsageResponse(string Date, IReadOnlyList<ModelUsage> Models, decimal TotalCostUsd, long TotalRequests,
        long TotalCacheHits, decimal TotalCacheSavedUsd);

    public static async Task<Results<Ok<UsageResponse>, ValidationProblem, ProblemHttpResult>> GetUsage(
        UsageRecorder usage, UsageWriter writer, UsageStore store, CancellationToken cancellationToken, string? date = null)
    {
        var day = usage.Today;
        if (date is not null && !DateOnly.TryParseExact(date, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out day))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["date"] = ["Use yyyy-MM-dd."] });
        }

        // This replica's latest counts first, so a caller reads its own answers; other replicas' lag
        // by up to Gateway:Usage:FlushInterval.
        await writer.FlushAsync(cancellationToken);
        IReadOnlyList<ModelUsage> models;
        try
        {
            models = await store.ReadAsync(day);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Usage is unavailable",
                detail: "Redis, where usage is kept, cannot be reached; answers go on and their usage is written once it is back.");
        }

        return TypedResults.Ok(new UsageResponse(day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), models,
            models.Sum(m => m.CostUsd), models.Sum(m => m.Requests), models.Sum(m => m.CacheHits), models.Sum(m => m.CacheSavedUsd)));
    }
}
