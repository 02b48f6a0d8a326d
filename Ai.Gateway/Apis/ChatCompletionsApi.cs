using Ai.Gateway.Generation;
using Ai.Gateway.OpenAICompat;

namespace Ai.Gateway.Apis;

/// <summary>
/// <c>POST /v1/chat/completions</c>, OpenAI-compatible, so any OpenAI SDK gets the gateway's routing,
/// shared rate limits, retries and fallback. Errors are problem details that also carry OpenAI's
/// <c>error</c> object (see <see cref="OpenAIErrors"/>).
/// </summary>
public static class ChatCompletionsApi
{
    public static IEndpointRouteBuilder MapChatCompletionsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v1/chat").WithTags("OpenAI compatible").RequireAuthorization(ApiRoles.Client);

        api.MapPost("/completions", CreateChatCompletion)
            .WithName("CreateChatCompletion")
            .WithSummary("OpenAI-compatible chat completions through the gateway's routing, shared rate limits, retries and fallback (stream: true for chat.completion.chunk events)")
            .Accepts<ChatCompletionRequest>("application/json")
            .Produces<ChatCompletion>()
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status502BadGateway)
            .ProducesProblem(StatusCodes.Status504GatewayTimeout);

        return app;
    }

    public static async Task<IResult> CreateChatCompletion(HttpContext http, ChatCompletionsService completions, ILogger<ChatCompletionsService> logger,
        CancellationToken cancellationToken)
    {
        var body = await JsonBodyReader.ReadAsync<ChatCompletionRequest>(http.Request, OpenAIJson.Options, cancellationToken);
        if (!body.IsValid)
        {
            return OpenAIErrors.BadBody(body.Problem, http);
        }

        var request = body.Value!;
        if (CacheHeaders.Read(http) is not { } caller)
        {
            http.Response.Headers[GatewayProblems.ShouldRetryHeader] = "false";
            return OpenAIErrors.Invalid(CacheHeaders.Invalid);
        }

        try
        {
            var call = completions.Prepare(request, caller);
            if (!call.Stream)
            {
                var completion = await completions.CompleteAsync(call, cancellationToken);
                CacheHeaders.Write(http, caller);
                return TypedResults.Json(completion, OpenAIJson.Options);
            }

            // Wait for the first chunk before answering, so a failure before any token is a normal HTTP error.
            var chunks = completions.StreamAsync(call, cancellationToken).GetAsyncEnumerator(cancellationToken);
            try
            {
                if (!await chunks.MoveNextAsync())
                {
                    throw new InvalidOperationException("The completion stream ended before its first chunk.");
                }
            }
            catch
            {
                await chunks.DisposeAsync();
                throw;
            }

            CacheHeaders.Write(http, caller);
            return TypedResults.ServerSentEvents(ChatCompletionEvents.From(chunks, logger, cancellationToken));
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
