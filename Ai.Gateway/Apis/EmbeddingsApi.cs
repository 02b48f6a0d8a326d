using Ai.Gateway.Embeddings;
using Ai.Gateway.OpenAICompat;

namespace Ai.Gateway.Apis;

/// <summary>
/// <c>POST /v1/embeddings</c>, OpenAI-compatible, so any OpenAI SDK's embeddings client gets the gateway's embedding
/// models through the same routing, shared rate limits, retries, fallback and usage as chat. Errors are problem
/// details that also carry OpenAI's <c>error</c> object (see <see cref="OpenAIErrors"/>).
/// </summary>
public static class EmbeddingsApi
{
    public static IEndpointRouteBuilder MapEmbeddingsApi(this IEndpointRouteBuilder app)
    {
        app.MapGroup("/v1").WithTags("OpenAI compatible").RequireAuthorization(ApiRoles.Client)
            .MapPost("/embeddings", CreateEmbeddings)
            .WithName("CreateEmbeddings")
            .WithSummary("OpenAI-compatible embeddings of a string or an array of strings, through the gateway's embedding models, shared rate limits, retries and fallback")
            .Accepts<EmbeddingRequest>("application/json")
            .Produces<EmbeddingList>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status502BadGateway)
            .ProducesProblem(StatusCodes.Status504GatewayTimeout);

        return app;
    }

    public static async Task<IResult> CreateEmbeddings(HttpContext http, EmbeddingsService embeddings, CancellationToken cancellationToken)
    {
        var body = await JsonBodyReader.ReadAsync<EmbeddingRequest>(http.Request, OpenAIJson.Options, cancellationToken);
        if (!body.IsValid)
        {
            return OpenAIErrors.BadBody(body.Problem, http);
        }

        try
        {
            return TypedResults.Json(await embeddings.CreateAsync(embeddings.Prepare(body.Value!), cancellationToken), OpenAIJson.Options);
        }
        catch (ChatRequestException invalid)
        {
            return OpenAIErrors.Invalid(invalid, http);
        }
        catch (Exception ex) when (OpenAIErrors.ForFailure(ex, http) is { } failure)
        {
            return failure;
        }
    }
}
