using System.Globalization;
using Ai.Gateway.Usage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Ai.Gateway.Apis;

public static class UsageApi
{
    public static IEndpointRouteBuilder MapUsageApi(this IEndpointRouteBuilder app)
    {
        app.MapGroup("/v1").WithTags("Usage")
            .MapGet("/usage", GetUsage)
            .WithName("GetUsage")
            .WithSummary("Usage per model for a UTC day (default today), summed over every replica: requests, tokens, cost, denials, fallbacks");

        return app;
    }

    public sealed record UsageResponse(string Date, IReadOnlyList<ModelUsage> Models, decimal TotalCostUsd, long TotalRequests);

    public static async Task<Results<Ok<UsageResponse>, ValidationProblem>> GetUsage(UsageRecorder usage, string? date = null)
    {
        var day = usage.Today;
        if (date is not null && !DateOnly.TryParseExact(date, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out day))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["date"] = ["Use yyyy-MM-dd."] });
        }

        var models = await usage.ReadAsync(day);
        return TypedResults.Ok(new UsageResponse(day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), models,
            models.Sum(m => m.CostUsd), models.Sum(m => m.Requests)));
    }
}
