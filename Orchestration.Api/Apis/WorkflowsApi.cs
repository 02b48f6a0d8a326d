using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Orchestration.Api.Model;
using Orchestration.Api.Services;

namespace Orchestration.Api.Apis;

public static class WorkflowsApi
{
    public static IEndpointRouteBuilder MapWorkflowsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/workflows").WithTags("Workflows").RequireAuthorization(ApiRoles.Client);

        api.MapPut("/{id}", PutWorkflow).WithName("PutWorkflow")
            .WithSummary("Store a workflow definition after validating it; a changed definition becomes a new immutable version (If-Match: the version you read, 412 if it moved on)")
            .Accepts<WorkflowDefinition>("application/json");
        api.MapGet("/", ListWorkflows).WithName("ListWorkflows").WithSummary("List workflow definitions (newest version of each)");
        api.MapGet("/{id}", GetWorkflow).WithName("GetWorkflow").WithSummary("Get the newest version of a workflow definition (ETag: its version)");
        api.MapGet("/{id}/versions", ListVersions).WithName("ListWorkflowVersions").WithSummary("Every version of a workflow definition, oldest first");
        api.MapGet("/{id}/versions/{version:int}", GetVersion).WithName("GetWorkflowVersion").WithSummary("One version of a workflow definition");

        return app;
    }

    public static async Task<Results<Created<WorkflowDefinition>, Ok<WorkflowDefinition>, ValidationProblem, ProblemHttpResult>> PutWorkflow(
        string id, HttpContext context, WorkflowStore store, IOptions<OrchestrationOptions> options, CancellationToken cancellationToken)
    {
        var body = await JsonBodyReader.ReadAsync<WorkflowDefinition>(context.Request, RunJson.Options, cancellationToken);
        if (!body.IsValid)
        {
            return body.Problem.ToResult();
        }

        var workflow = body.Value!;

        if (string.IsNullOrEmpty(workflow.Id))
        {
            workflow = workflow with { Id = id };
        }
        else if (workflow.Id != id)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["id"] = [$"The body's id '{workflow.Id}' differs from the route's '{id}'."] });
        }

        var errors = WorkflowValidator.Validate(workflow, options.Value.MaxStepInputBytes);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        errors = await WorkflowReferences.CheckAsync(workflow, store, options.Value.MaxWorkflowDepth);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        string? ifMatch = null;
        if (context.Request.Headers.IfMatch.ToString() is { Length: > 0 } header)
        {
            ifMatch = header.Trim() == "*" ? "*" : ParseETag(header)?.ToString(CultureInfo.InvariantCulture);
            if (ifMatch is null)
            {
                return TypedResults.Problem($"If-Match must be \"*\" or an ETag this API sent (a quoted version number); was {header}.",
                    statusCode: StatusCodes.Status400BadRequest, title: "Bad If-Match");
            }
        }

        var (outcome, stored) = await store.PutAsync(workflow with { Version = null }, ifMatch);
        if (outcome == PutOutcome.PreconditionFailed)
        {
            return TypedResults.Problem($"Workflow '{id}' is not at the version named by If-Match ({context.Request.Headers.IfMatch}); GET it again and retry.",
                statusCode: StatusCodes.Status412PreconditionFailed, title: "The workflow changed");
        }

        context.Response.Headers.ETag = ETag(stored!);
        return outcome == PutOutcome.Created
            ? TypedResults.Created($"/api/workflows/{id}", stored)
            : TypedResults.Ok(stored);
    }

    public static async Task<Ok<IReadOnlyList<WorkflowDefinition>>> ListWorkflows(WorkflowStore store) =>
        TypedResults.Ok(await store.ListAsync());

    public static async Task<Results<Ok<WorkflowDefinition>, NotFound>> GetWorkflow(string id, HttpContext context, WorkflowStore store)
    {
        if (await store.GetAsync(id) is not { } workflow)
        {
            return TypedResults.NotFound();
        }

        context.Response.Headers.ETag = ETag(workflow);
        return TypedResults.Ok(workflow);
    }

    public static async Task<Results<Ok<IReadOnlyList<WorkflowDefinition>>, NotFound>> ListVersions(string id, WorkflowStore store) =>
        await store.ListVersionsAsync(id) is { Count: > 0 } versions ? TypedResults.Ok(versions) : TypedResults.NotFound();

    public static async Task<Results<Ok<WorkflowDefinition>, NotFound>> GetVersion(string id, int version, HttpContext context, WorkflowStore store)
    {
        if (version < 1 || await store.GetVersionAsync(id, version) is not { } workflow)
        {
            return TypedResults.NotFound();
        }

        context.Response.Headers.ETag = ETag(workflow);
        return TypedResults.Ok(workflow);
    }

    private static string ETag(WorkflowDefinition workflow) => $"\"{workflow.Version?.ToString(CultureInfo.InvariantCulture)}\"";

    private static int? ParseETag(string header)
    {
        var value = header.Trim();
        if (value.StartsWith("W/", StringComparison.Ordinal))
        {
            value = value[2..];
        }

        return value.Length > 2 && value[0] == '"' && value[^1] == '"'
            && int.TryParse(value.AsSpan(1, value.Length - 2), NumberStyles.None, CultureInfo.InvariantCulture, out var version) && version > 0
            ? version
            : null;
    }
}
