using System.Text.Json.Serialization;
using Ai.Gateway.Model;
using Ai.Gateway.OpenAICompat;
using Ai.Gateway.Policy;
using Ai.Gateway.Providers;
using Communication.Bus.RateLimiting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Ai.Gateway.Apis;

public static class ModelsApi
{
    public static IEndpointRouteBuilder MapModelsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v1").WithTags("Models").RequireAuthorization(ApiRoles.Client);

        // OpenAI's shape, so any OpenAI SDK's models.list / models.retrieve works against the gateway.
        api.MapGet("/models", ListOpenAIModels)
            .WithName("ListModels")
            .WithSummary("The catalog's models in OpenAI's list shape ({ object: \"list\", data: [{ id, object, created, owned_by }] })")
            .Produces<OpenAIModelList>();

        api.MapGet("/models/{id}", RetrieveOpenAIModel)
            .WithName("RetrieveModel")
            .WithSummary("One catalog model in OpenAI's shape; 404 model_not_found for an unknown id")
            .Produces<OpenAIModel>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        app.MapGroup("/v1/gateway").WithTags("Models").RequireAuthorization(ApiRoles.Client).MapGet("/models", ListModels)
            .WithName("ListGatewayModels")
            .WithSummary("The model catalog: providers, tiers, prices, limits, fallback chains, live bucket and circuit state");

        return app;
    }

    public sealed record ModelsServices(ModelCatalog Catalog, IModelProviderRegistry Providers, ModelResilience Resilience, IDistributedTokenBucket Buckets);

    public static Ok<OpenAIModelList> ListOpenAIModels(ModelCatalog catalog) =>
        TypedResults.Ok(new OpenAIModelList(catalog.Models.Select(OpenAIModel.From).ToList()));

    public static Results<Ok<OpenAIModel>, ProblemHttpResult> RetrieveOpenAIModel(string id, ModelCatalog catalog) =>
        catalog.Find(id) is { } model
            ? TypedResults.Ok(OpenAIModel.From(model))
            : OpenAIErrors.ModelNotFoundProblem(id, catalog, param: null);

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
        Kind = model.Kind;
        Dimensions = model.Dimensions;
    }

    /// <summary><c>Chat</c> or <c>Embedding</c>.</summary>
    public ModelKind Kind { get; init; }

    /// <summary>An embedding model's vector length, when configured.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Dimensions { get; init; }
}

/// <summary>Tokens left in the shared bucket now, and requests left today (when the model has a daily limit).</summary>
public sealed record BucketState(long Remaining, long Capacity, long? DailyRemaining, long? DailyLimit, bool FromFallback);

/// <summary>OpenAI's model list: <c>{ "object": "list", "data": [...] }</c>.</summary>
public sealed record OpenAIModelList([property: JsonPropertyName("data")] IReadOnlyList<OpenAIModel> Data)
{
    [JsonPropertyName("object"), JsonPropertyOrder(-1)]
    public string Object => "list";
}

/// <summary>
/// OpenAI's model object. <c>created</c> is 0: the catalog does not know when a provider published a model;
/// <c>owned_by</c> is the configured provider (<c>gemini</c>, <c>openai</c>, <c>offline</c>).
/// </summary>
public sealed record OpenAIModel(
    [property: JsonPropertyName("id"), JsonPropertyOrder(-2)] string Id,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("owned_by")] string OwnedBy)
{
    [JsonPropertyName("object"), JsonPropertyOrder(-1)]
    public string Object => "model";

    public static OpenAIModel From(ModelDefinition model) => new(model.Id, 0, model.Provider);
}
