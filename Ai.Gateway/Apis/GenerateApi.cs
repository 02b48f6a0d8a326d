using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Ai.Gateway.Caching;
using Ai.Gateway.Generation;
using Ai.Gateway.Policy;
using Ai.Gateway.Providers;
using Microsoft.Extensions.Options;

namespace Ai.Gateway.Apis;

public static class GenerateApi
{
    public static IEndpointRouteBuilder MapGenerateApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v1/generate").WithTags("Generate").RequireAuthorization(ApiRoles.Client);

        api.MapPost("/", Generate)
            .WithName("Generate")
            .WithSummary("Generate with routing, shared rate limits, retries, fallback, tools and checked JSON (stream: true for Server-Sent Events)")
            .Accepts<GenerateRequest>("application/json")
            .Produces<GenerateResponse>()
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status502BadGateway)
            .ProducesProblem(StatusCodes.Status504GatewayTimeout);

        api.MapPost("/batch", GenerateBatch)
            .WithName("GenerateBatch")
            .WithSummary("Many generations with bounded concurrency; results in request order, one failure does not fail the batch")
            .Accepts<BatchRequest>("application/json")
            .Produces<BatchResponse>()
            .ProducesValidationProblem();

        return app;
    }

    public sealed record BatchRequest(IReadOnlyList<GenerateRequest>? Requests, int? Concurrency);

    public sealed record BatchItem(int Index, bool Ok, GenerateResponse? Result, ProblemDetailsLite? Error);

    public sealed record BatchResponse(IReadOnlyList<BatchItem> Results, int Succeeded, int Failed);

    /// <summary>A failed batch item: the status and problem the request alone would have got.</summary>
    public sealed record ProblemDetailsLite(int Status, string Title, string? Detail, object? Errors,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Code = null);

    public static async Task<IResult> Generate(HttpContext http, GenerationService generation, CancellationToken cancellationToken)
    {
        var body = await JsonBodyReader.ReadAsync<GenerateRequest>(http.Request, JsonSerializerOptions.Web, cancellationToken);
        if (!body.IsValid)
        {
            return body.Problem.ToResult();
        }

        var request = body.Value!;
        if (CacheHeaders.Read(http) is not { } caller)
        {
            return TypedResults.ValidationProblem(CacheHeaders.Invalid);
        }

        try
        {
            if (request.Stream == true)
            {
                // Read the first event before answering, so a failure before any token is a
                // normal HTTP error rather than a broken stream.
                var events = generation.StreamAsync(request, caller, cancellationToken).GetAsyncEnumerator(cancellationToken);
                if (!await events.MoveNextAsync())
                {
                    await events.DisposeAsync();
                    return TypedResults.Problem(statusCode: StatusCodes.Status502BadGateway, title: "The model returned nothing");
                }

                CacheHeaders.Write(http, caller);
                return TypedResults.ServerSentEvents(Rest(events, cancellationToken));
            }

            var result = await generation.GenerateAsync(request, caller, cancellationToken);
            CacheHeaders.Write(http, caller);
            return TypedResults.Ok(result);
        }
        catch (Exception ex) when (GatewayProblems.For(ex, http) is { } failure)
        {
            return failure;
        }
    }

    public static async Task<IResult> GenerateBatch(HttpRequest http, GenerationService generation, IOptions<GatewayPolicyOptions> options, CancellationToken cancellationToken)
    {
        var body = await JsonBodyReader.ReadAsync<BatchRequest>(http, JsonSerializerOptions.Web, cancellationToken);
        if (!body.IsValid)
        {
            return body.Problem.ToResult();
        }

        var batch = body.Value!;
        if (CacheHeaders.Read(http.HttpContext) is not { } batchCaller)
        {
            return TypedResults.ValidationProblem(CacheHeaders.Invalid);
        }

        var policy = options.Value;
        if (batch.Requests is not { Count: > 0 } requests || requests.Count > policy.MaxBatchSize)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["requests"] = [$"Between 1 and {policy.MaxBatchSize} requests."] });
        }

        if (batch.Concurrency is < 1 or > 64)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["concurrency"] = ["Between 1 and 64."] });
        }

        if (requests.Any(r => r is null || r.Stream == true))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["requests"] = ["Every item must be a request, and batch items cannot stream."] });
        }

        var results = new BatchItem[requests.Count];
        var concurrency = Math.Min(batch.Concurrency ?? policy.BatchConcurrency, policy.BatchConcurrency);
        await Parallel.ForEachAsync(Enumerable.Range(0, requests.Count), new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken },
            async (index, ct) =>
            {
                try
                {
                    results[index] = new BatchItem(index, true, await generation.GenerateAsync(requests[index], new CacheCaller(batchCaller.Name, batchCaller.Mode), ct), null);
                }
                catch (Exception ex) when (!ct.IsCancellationRequested)
                {
                    results[index] = new BatchItem(index, false, null, Describe(ex));
                }
            });

        return TypedResults.Ok(new BatchResponse(results, results.Count(r => r.Ok), results.Count(r => !r.Ok)));
    }

    private static ProblemDetailsLite Describe(Exception ex) => ex switch
    {
        GenerateValidationException invalid => new(400, "The request is invalid", null, invalid.Errors),
        InvalidModelOutputException output => new(422, "The model's answer did not match the requested JSON", null, output.Errors),
        AllModelsFailedException { AllRateLimited: true } limited => new(429, "Rate limited", limited.Message, limited.Attempts),
        AllModelsFailedException { ContentBlocked: true } blocked => new(422, GatewayProblems.BlockedTitle, blocked.InnerException?.Message, blocked.Attempts, GatewayProblems.ContentBlockedCode),
        ModelProviderException { Kind: ModelFailureKind.ContentBlocked } block => new(422, GatewayProblems.BlockedTitle, block.Message, new { model = block.Model }, GatewayProblems.ContentBlockedCode),
        AllModelsFailedException failed => new(502, "No model could answer", failed.Message, failed.Attempts),
        GatewayTimeoutException timeout => new(504, "The request timed out", timeout.Message, null),
        ModelProviderException failure => new(502, GatewayProblems.MidStreamTitle, failure.Message, new { model = failure.Model, kind = failure.Kind.ToString() }),
        _ => new(500, "Unexpected error", null, null),
    };

    private static async IAsyncEnumerable<SseItem<JsonElement>> Rest(IAsyncEnumerator<GenerateStreamEvent> events, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using (events)
        {
            var more = true;
            while (more)
            {
                var current = events.Current;
                yield return Item(current);
                SseItem<JsonElement>? failure = null;
                try
                {
                    more = await events.MoveNextAsync();
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
                {
                    // After the first token the status is sent: report the failure as a last event.
                    var problem = Describe(ex);
                    failure = new SseItem<JsonElement>(JsonSerializer.SerializeToElement(problem, JsonSerializerOptions.Web), "error");
                    more = false;
                }

                if (failure is { } error)
                {
                    yield return error;
                }
            }
        }
    }

    private static SseItem<JsonElement> Item(GenerateStreamEvent e) => e.Type == GenerateStreamEvent.Delta
        ? new SseItem<JsonElement>(JsonSerializer.SerializeToElement(new { text = e.Text }, JsonSerializerOptions.Web), GenerateStreamEvent.Delta)
        : new SseItem<JsonElement>(JsonSerializer.SerializeToElement(e.Result, JsonSerializerOptions.Web), GenerateStreamEvent.Done);
}
