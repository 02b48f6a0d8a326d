using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Infrastructure;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// The roles an API key carries (issue 9), configured as <c>Auth:Roles:&lt;caller&gt;</c> (a comma list). Each is also the
/// name of the authorization policy that requires it: <c>group.RequireAuthorization(ApiRoles.Client)</c>.
/// </summary>
public static class ApiRoles
{
    /// <summary>Workflows, runs, agent reads, generation, chat, models, usage, prompts, tools.</summary>
    public const string Client = "client";

    /// <summary>Registers and heartbeats its own agents, nothing else.</summary>
    public const string Agent = "agent";

    /// <summary>Operations (delete agents, dead letters); implies every other role.</summary>
    public const string Admin = "admin";

    /// <summary>Every known role.</summary>
    public static readonly IReadOnlyList<string> All = [Client, Agent, Admin];

    /// <summary>The roles of a key configured without <c>Auth:Roles:&lt;caller&gt;</c>, so setups from before roles keep working.</summary>
    public static readonly IReadOnlyList<string> Default = [Client];

    /// <summary>The caller's name (the <c>Auth:ApiKeys</c> entry its key matched).</summary>
    public static string? CallerName(this ClaimsPrincipal user) => user.Identity?.IsAuthenticated == true ? user.Identity.Name : null;

    /// <summary>True when the caller holds <paramref name="role"/> (admin holds them all).</summary>
    public static bool HasApiRole(this ClaimsPrincipal user, string role) => user.IsInRole(role);
}

/// <summary>Answers a missing role with 403 problem details that name the roles the route needs.</summary>
internal sealed class ApiRoleForbiddenHandler : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (!authorizeResult.Forbidden || context.User.Identity?.IsAuthenticated != true)
        {
            await _default.HandleAsync(next, context, policy, authorizeResult);
            return;
        }

        var needed = authorizeResult.AuthorizationFailure?.FailedRequirements.OfType<RolesAuthorizationRequirement>()
            .SelectMany(r => r.AllowedRoles).Distinct(StringComparer.Ordinal).ToList() ?? [];
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        await ProblemAnswer.WriteAsync(context, new ProblemDetails
        {
            Status = StatusCodes.Status403Forbidden,
            Title = "Forbidden",
            Detail = needed.Count > 0
                ? $"The API key of '{context.User.Identity.Name}' lacks the role this route needs: {string.Join(" or ", needed)} (Auth:Roles:{context.User.Identity.Name})."
                : "This API key may not call this route.",
            Extensions = { ["requiredRoles"] = needed },
        });
    }
}
