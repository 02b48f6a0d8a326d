using Microsoft.AspNetCore.Http.HttpResults;
using Orchestration.Api.Engine;
using Orchestration.Api.Model;
using Microsoft.Extensions.Options;
using Orchestration.Api.Services;

namespace Orchestration.Api.Apis;

public static class AgentsApi
{
    public static IEndpointRouteBuilder MapAgentsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/agents").WithTags("Agents");

        // Agents register and heartbeat themselves (agent role); clients read the registry; admins remove agents.
        api.MapPost("/", Register).WithName("RegisterAgent").WithSummary("Register an agent, or update its registration")
            .Accepts<AgentRegistration>("application/json").RequireAuthorization(ApiRoles.Agent);
        api.MapGet("/", ListAgents).WithName("ListAgents").WithSummary("List agents, optionally by capability and status (active = available)")
            .RequireAuthorization(ApiRoles.Client);
        api.MapGet("/{id}", GetAgent).WithName("GetAgent").WithSummary("Get one agent").RequireAuthorization(ApiRoles.Client);
        api.MapDelete("/{id}", Unregister).WithName("UnregisterAgent").WithSummary("Remove an agent").RequireAuthorization(ApiRoles.Admin);
        api.MapPost("/{id}/heartbeat", Heartbeat).WithName("AgentHeartbeat").WithSummary("Keep an agent alive, optionally changing its declared status")
            .Accepts<AgentHeartbeat>("application/json").RequireAuthorization(ApiRoles.Agent);

        return app;
    }

    public static async Task<Results<Ok<Agent>, ValidationProblem, ProblemHttpResult>> Register(HttpRequest request, AgentRegistry registry, AgentDirectory directory,
        IOptions<OrchestrationOptions> options, CancellationToken cancellationToken)
    {
        var body = await JsonBodyReader.ReadAsync<AgentRegistration>(request, RunJson.Options, cancellationToken);
        if (!body.IsValid)
        {
            return body.Problem.ToResult();
        }

        var registration = body.Value!;
        var errors = AgentValidator.Validate(registration, options.Value.ResultsTopic);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        Agent? agent;
        try
        {
            agent = await registry.RegisterAsync(registration, request.HttpContext.User.CallerName()!, request.HttpContext.User.IsInRole(ApiRoles.Admin));
        }
        catch (AgentRegistrationConflictException conflict)
        {
            return TypedResults.Problem(conflict.Message, statusCode: StatusCodes.Status409Conflict, title: "Registration conflict");
        }

        if (agent is null)
        {
            return NotOwner(registration.Id, request.HttpContext);
        }

        directory.Invalidate();
        return TypedResults.Ok(agent);
    }

    public static async Task<Results<Ok<IReadOnlyList<Agent>>, ValidationProblem>> ListAgents(AgentRegistry registry, string? capability = null, string? status = null)
    {
        if (status is not null && !AgentStatuses.All.Contains(status))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["status"] = [$"One of: {string.Join(", ", AgentStatuses.All)}."] });
        }

        return TypedResults.Ok(await registry.ListAsync(capability, status));
    }

    public static async Task<Results<Ok<Agent>, NotFound>> GetAgent(string id, AgentRegistry registry) =>
        await registry.GetAsync(id) is { } agent ? TypedResults.Ok(agent) : TypedResults.NotFound();

    public static async Task<Results<NoContent, NotFound>> Unregister(string id, AgentRegistry registry, AgentDirectory directory)
    {
        var removed = await registry.UnregisterAsync(id);
        directory.Invalidate();
        return removed ? TypedResults.NoContent() : TypedResults.NotFound();
    }

    public static async Task<Results<Ok<Agent>, NotFound, ValidationProblem, ProblemHttpResult>> Heartbeat(string id, HttpRequest request, AgentRegistry registry, AgentDirectory directory, CancellationToken cancellationToken)
    {
        var body = await JsonBodyReader.ReadOptionalAsync<AgentHeartbeat>(request, RunJson.Options, cancellationToken);
        if (!body.IsValid)
        {
            return body.Problem.ToResult();
        }

        var status = body.Value?.Status;
        if (status is not null && !AgentStatuses.Declarable.Contains(status))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["status"] = [$"One of: {string.Join(", ", AgentStatuses.Declarable)}."] });
        }

        if (!await registry.MayChangeAsync(id, request.HttpContext.User.CallerName()!, request.HttpContext.User.IsInRole(ApiRoles.Admin)))
        {
            return NotOwner(id, request.HttpContext);
        }

        var agent = await registry.HeartbeatAsync(id, status);
        if (status is not null)
        {
            directory.Invalidate();
        }

        return agent is null ? TypedResults.NotFound() : TypedResults.Ok(agent);
    }

    private static ProblemHttpResult NotOwner(string id, HttpContext context) => TypedResults.Problem(
        $"Agent '{id}' belongs to another caller; only its owner or an admin may change it (you are '{context.User.CallerName()}').",
        statusCode: StatusCodes.Status403Forbidden, title: "Forbidden");
}
