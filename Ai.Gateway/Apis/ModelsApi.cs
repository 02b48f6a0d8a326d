using Ai.Gateway.Model;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Microsoft.AspNetCore.Builder;

public static class ModelsApi
{
    public static IEndpointRouteBuilder MapModelsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v1").WithTags("Models");

        api.MapGet("/models", ListModels)
            .WithName("ListModels")
            .WithSummary("The model catalog: providers, tiers, prices, limits and fallback chains");

        return app;
    }

    public static Ok<ModelCatalogResponse> ListModels(IOptions<ModelCatalogOptions> catalog) =>
        TypedResults.Ok(new ModelCatalogResponse(catalog.Value.DefaultModel, catalog.Value.Models));
}

public sealed record ModelCatalogResponse(string DefaultModel, IReadOnlyList<ModelDefinition> Models);
