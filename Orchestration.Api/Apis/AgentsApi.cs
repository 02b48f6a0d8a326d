using Microsoft.AspNetCore.Http.HttpResults;
using Orchestration.Api.Model;
using Orchestration.Api.Services;

namespace Microsoft.AspNetCore.Builder;

public static class AgentsApi
{
    public static IEndpointRouteBuilder MapAgentsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/agents").WithTags("Agents");

        api.MapGet("/", ListAgents)
            .WithName("ListAgents")
            .WithSummary("List the registered agents");

        return app;
    }

    public static async Task<Ok<IReadOnlyList<Agent>>> ListAgents(AgentRegistry registry) =>
        TypedResults.Ok(await registry.ListAsync());
}
