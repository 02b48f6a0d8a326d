using Ai.Gateway.Model;
using Ai.Gateway.Policy;
using Ai.Gateway.Providers;
using Communication.Bus.RateLimiting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Ai.Gateway.Apis;

public static class ModelsApi
{
    public static IEndpointRouteBuilder MapModelsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v1").WithTags("Models");

        api.MapGet("/models", ListModels)
            .WithName("ListModels")
            .WithSummary("The model catalog: providers, tiers, prices, limits, fallback chains, live bucket and circuit state");

        return app;
    }

    public sealed record ModelsServices(ModelCatalog Catalog, IModelProviderRegistry Providers, ModelResilience Resilience, IDistributedTokenBucket Buckets);

    public static async Task<Ok<ModelCatalogResponse>> ListModels([AsParameters] ModelsServices services, CancellationToken cancellationToken)
    {
        var models = await Task.WhenAll(services.Catalog.Models.Select(async model =>
        {
            // A cost of 0 reads the shared bucket without taking a token.
            var bucket = await services.Buckets.TryAcquireAsync(ModelCatalog.BucketName(model), services.Catalog.RuleFor(model), 0, cancellationToken);
            return new ModelStatus(model, services.Providers.ServingProvider(model), services.Resilience.CircuitState(model.Id),
                new BucketState(bucket.Remaining, model.Burst, bucket.DailyRemaining, model.DailyLimit, bucket.FromFallback));
        }));
        return TypedResults.Ok(new ModelCatalogResponse(services.Catalog.DefaultModel, services.Providers.LiveProviders, models));
    }
}

public sealed record ModelCatalogResponse(string DefaultModel, IReadOnlyList<string> LiveProviders, IReadOnlyList<ModelStatus> Models);

/// <summary>A catalog model with the provider serving it now ("offline" without a key), its circuit and its shared bucket.</summary>
public sealed record ModelStatus(
    string Id,
    string Provider,
    ModelTier Tier,
    decimal InputPricePerMillion,
    decimal OutputPricePerMillion,
    double Qps,
    int Burst,
    long? DailyLimit,
    IReadOnlyList<string> Fallbacks,
    string ServedBy,
    string Circuit,
    BucketState Bucket)
{
    public ModelStatus(ModelDefinition model, string servedBy, string circuit, BucketState bucket)
        : this(model.Id, model.Provider, model.Tier, model.InputPricePerMillion, model.OutputPricePerMillion, model.Qps, model.Burst,
            model.DailyLimit, model.Fallbacks, servedBy, circuit, bucket)
    {
    }
}

/// <summary>Tokens left in the shared bucket now, and requests left today (when the model has a daily limit).</summary>
public sealed record BucketState(long Remaining, long Capacity, long? DailyRemaining, long? DailyLimit, bool FromFallback);
