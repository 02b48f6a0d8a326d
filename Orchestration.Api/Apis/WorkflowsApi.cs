using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Orchestration.Api.Model;
using Orchestration.Api.Services;

namespace Orchestration.Api.Apis;

public static class WorkflowsApi
{
    public static IEndpointRouteBuilder MapWorkflowsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/workflows").WithTags("Workflows");

        api.MapPut("/{id}", PutWorkflow).WithName("PutWorkflow").WithSummary("Store a workflow definition after validating it");
        api.MapGet("/", ListWorkflows).WithName("ListWorkflows").WithSummary("List workflow definitions");
        api.MapGet("/{id}", GetWorkflow).WithName("GetWorkflow").WithSummary("Get one workflow definition");

        return app;
    }

    public static async Task<Results<Created<WorkflowDefinition>, Ok<WorkflowDefinition>, ValidationProblem>> PutWorkflow(string id, JsonElement body, WorkflowStore store)
    {
        if (!StrictJson.TryRead<WorkflowDefinition>(body, RunJson.Options, out var workflow, out var errors))
        {
            return TypedResults.ValidationProblem(errors);
        }

        if (string.IsNullOrEmpty(workflow.Id))
        {
            workflow = workflow with { Id = id };
        }
        else if (workflow.Id != id)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["id"] = [$"The body's id '{workflow.Id}' differs from the route's '{id}'."] });
        }

        errors = WorkflowValidator.Validate(workflow);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        return await store.SaveAsync(workflow)
            ? TypedResults.Created($"/api/workflows/{workflow.Id}", workflow)
            : TypedResults.Ok(workflow);
    }

    public static async Task<Ok<IReadOnlyList<WorkflowDefinition>>> ListWorkflows(WorkflowStore store) =>
        TypedResults.Ok(await store.ListAsync());

    public static async Task<Results<Ok<WorkflowDefinition>, NotFound>> GetWorkflow(string id, WorkflowStore store) =>
        await store.GetAsync(id) is { } workflow ? TypedResults.Ok(workflow) : TypedResults.NotFound();
}
