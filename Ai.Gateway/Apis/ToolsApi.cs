using System.Text.Json;
using Ai.Gateway.Tools;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Ai.Gateway.Apis;

public static class ToolsApi
{
    public static IEndpointRouteBuilder MapToolsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v1/tools").WithTags("Tools").RequireAuthorization(ApiRoles.Client);

        api.MapGet("/", ListTools)
            .WithName("ListTools")
            .WithSummary("The tools: name, description, input and output JSON Schemas");

        api.MapPost("/{name}/invoke", InvokeTool)
            .WithName("InvokeTool")
            .WithSummary("Validate the arguments, run the tool, validate its result")
            .Accepts<InvokeToolRequest>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status502BadGateway);

        return app;
    }

    public static Ok<ToolListResponse> ListTools(ToolRuntime runtime) => TypedResults.Ok(new ToolListResponse(runtime.Tools));

    public static async Task<Results<Ok<ToolInvocationResponse>, ProblemHttpResult>> InvokeTool(
        string name, HttpRequest request, [AsParameters] ToolsServices services, CancellationToken cancellationToken)
    {
        if (!services.Runtime.TryGetTool(name, out _))
        {
            return NotFound(name);
        }

        var body = await JsonBodyReader.ReadObjectAsync(request, cancellationToken);
        if (!body.IsValid)
        {
            return body.Problem.ToResult();
        }

        var arguments = body.Value!.Value.TryGetProperty("arguments", out var given) && given.ValueKind != JsonValueKind.Null ? given : default;
        if (arguments.ValueKind is not (JsonValueKind.Object or JsonValueKind.Undefined))
        {
            return JsonBodies.BadRequest("'arguments' must be a JSON object.");
        }

        var outcome = await services.Runtime.InvokeAsync(name, arguments, cancellationToken);
        return outcome.Status switch
        {
            ToolInvocationStatus.Succeeded => TypedResults.Ok(
                new ToolInvocationResponse(outcome.Tool, outcome.Result, Math.Round(outcome.Latency.TotalMilliseconds, 3))),
            ToolInvocationStatus.NotFound => NotFound(name),
            ToolInvocationStatus.InvalidArguments => JsonBodies.WithErrors(StatusCodes.Status422UnprocessableEntity,
                "Invalid tool arguments", $"{outcome.Error} Paths point into 'arguments'.", outcome.Errors),
            _ => JsonBodies.WithErrors(StatusCodes.Status502BadGateway, "Tool failed", outcome.Error, outcome.Errors),
        };
    }

    private static ProblemHttpResult NotFound(string name) =>
        TypedResults.Problem($"There is no tool named '{name}'. GET /v1/tools lists them.",
            statusCode: StatusCodes.Status404NotFound, title: "Unknown tool");
}

public sealed record ToolsServices(ToolRuntime Runtime);

public sealed record ToolListResponse(IReadOnlyList<ToolDescriptor> Tools);

/// <summary>The body of an invocation; <c>arguments</c> may be left out when the tool takes none.</summary>
public sealed record InvokeToolRequest(JsonElement? Arguments);

public sealed record ToolInvocationResponse(string Tool, JsonElement Result, double LatencyMs);
