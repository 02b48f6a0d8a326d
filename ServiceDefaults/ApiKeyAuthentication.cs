using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.Hosting;

/// <summary>API keys accepted by a service: a name (who calls) for each secret key.</summary>
public sealed class ApiKeyOptions
{
    public const string SectionName = "Auth";
    public const int MinimumKeyLength = 16;

    /// <summary>Caller name → key, e.g. <c>Auth:ApiKeys:client</c>. At least one is required.</summary>
    [Required]
    public Dictionary<string, string> ApiKeys { get; init; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Caller name → its roles as a comma list (<see cref="ApiRoles"/>), e.g. <c>Auth:Roles:gateway = agent</c>.
    /// A caller without an entry gets <see cref="ApiRoles.Default"/> (<c>client</c>).
    /// </summary>
    public Dictionary<string, string> Roles { get; init; } = new(StringComparer.Ordinal);

    /// <summary>The roles of <paramref name="caller"/> as configured (or the default), admin expanded to every role.</summary>
    public IReadOnlyList<string> RolesOf(string caller)
    {
        var configured = Roles.TryGetValue(caller, out var list) && !string.IsNullOrWhiteSpace(list)
            ? ParseRoles(list)
            : ApiRoles.Default;
        return configured.Contains(ApiRoles.Admin, StringComparer.Ordinal) ? ApiRoles.All : configured;
    }

    internal static IReadOnlyList<string> ParseRoles(string list) =>
        list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(r => r.ToLowerInvariant()).Distinct(StringComparer.Ordinal).ToList();
}

internal sealed class ApiKeyOptionsValidator : IValidateOptions<ApiKeyOptions>
{
    public ValidateOptionsResult Validate(string? name, ApiKeyOptions options)
    {
        var keys = options.ApiKeys.Where(k => !string.IsNullOrEmpty(k.Value)).ToList();
        if (keys.Count == 0)
        {
            return ValidateOptionsResult.Fail(
                "Auth:ApiKeys must name at least one API key (e.g. Auth__ApiKeys__client=<secret>); every route except health requires one.");
        }

        var failures = new List<string>();
        var weak = keys.Where(k => k.Value.Length < ApiKeyOptions.MinimumKeyLength).Select(k => k.Key).ToList();
        if (weak.Count > 0)
        {
            failures.Add($"Auth:ApiKeys entries must be at least {ApiKeyOptions.MinimumKeyLength} characters: {string.Join(", ", weak)}.");
        }

        foreach (var (caller, list) in options.Roles)
        {
            if (!options.ApiKeys.ContainsKey(caller))
            {
                failures.Add($"Auth:Roles:{caller} names a caller without a key (add Auth:ApiKeys:{caller}, or remove the roles).");
                continue;
            }

            var unknown = ApiKeyOptions.ParseRoles(list ?? "").Where(r => !ApiRoles.All.Contains(r, StringComparer.Ordinal)).ToList();
            if (unknown.Count > 0)
            {
                failures.Add($"Auth:Roles:{caller} has unknown role(s) {string.Join(", ", unknown.Select(r => $"'{r}'"))}; known roles: {string.Join(", ", ApiRoles.All)}.");
            }
        }

        return failures.Count > 0 ? ValidateOptionsResult.Fail(failures) : ValidateOptionsResult.Success;
    }
}

/// <summary>
/// Authenticates <c>Authorization: Bearer &lt;key&gt;</c> or <c>X-Api-Key: &lt;key&gt;</c> against
/// <see cref="ApiKeyOptions"/> in constant time, and answers 401/403 as problem details.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IOptionsMonitor<ApiKeyOptions> keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string HeaderName = "X-Api-Key";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = PresentedKey(Request);
        if (presented is null)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var presentedHash = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        string? caller = null;
        foreach (var (name, key) in keys.CurrentValue.ApiKeys)
        {
            // Compare fixed-length hashes so neither content nor length leaks through timing;
            // keep looping so the time does not depend on which key matched.
            var match = CryptographicOperations.FixedTimeEquals(presentedHash, SHA256.HashData(Encoding.UTF8.GetBytes(key)));
            if (match && !string.IsNullOrEmpty(key))
            {
                caller = name;
            }
        }

        if (caller is null)
        {
            return Task.FromResult(AuthenticateResult.Fail("The API key is not valid."));
        }

        var claims = new List<Claim> { new(ClaimTypes.Name, caller) };
        claims.AddRange(keys.CurrentValue.RolesOf(caller).Select(role => new Claim(ClaimTypes.Role, role)));
        var identity = new ClaimsIdentity(claims, SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer, ApiKey header=\"X-Api-Key\"";
        await WriteProblemAsync("Unauthorized",
            "An API key is required: send 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'.");
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        await WriteProblemAsync("Forbidden", "This API key may not call this route.");
    }

    private Task WriteProblemAsync(string title, string detail) =>
        ProblemAnswer.WriteAsync(Context, new ProblemDetails { Status = Response.StatusCode, Title = title, Detail = detail });

    private static string? PresentedKey(HttpRequest request)
    {
        if (request.Headers.TryGetValue(HeaderName, out var apiKey) && !string.IsNullOrEmpty(apiKey))
        {
            return apiKey.ToString();
        }

        var authorization = request.Headers.Authorization.ToString();
        const string bearer = "Bearer ";
        return authorization.StartsWith(bearer, StringComparison.OrdinalIgnoreCase) && authorization.Length > bearer.Length
            ? authorization[bearer.Length..].Trim()
            : null;
    }
}

public static class ApiKeyAuthenticationExtensions
{
    /// <summary>
    /// Requires an API key on every endpoint that does not opt out with <c>AllowAnonymous</c>
    /// (the health endpoints do), and a role (<see cref="ApiRoles"/>): the one a route group names with
    /// <c>RequireAuthorization(ApiRoles.X)</c>, else <c>client</c>. Keys come from <c>Auth:ApiKeys</c>, roles from
    /// <c>Auth:Roles</c>; both are validated at start-up.
    /// </summary>
    public static TBuilder AddApiKeyAuthentication<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddOptions<ApiKeyOptions>()
            .BindConfiguration(ApiKeyOptions.SectionName)
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ApiKeyOptions>, ApiKeyOptionsValidator>();

        builder.Services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);

        // One policy per role, named like it; a route without a policy of its own needs the client role
        // (least privilege: an agent key reaches only the routes that name the agent role).
        AuthorizationPolicy RequireRole(string role) => new AuthorizationPolicyBuilder(ApiKeyAuthenticationHandler.SchemeName)
            .RequireAuthenticatedUser()
            .RequireRole(role)
            .Build();
        var authorization = builder.Services.AddAuthorizationBuilder()
            .SetDefaultPolicy(RequireRole(ApiRoles.Client))
            .SetFallbackPolicy(RequireRole(ApiRoles.Client));
        foreach (var role in ApiRoles.All)
        {
            authorization.AddPolicy(role, RequireRole(role));
        }

        builder.Services.AddSingleton<IAuthorizationMiddlewareResultHandler, ApiRoleForbiddenHandler>();

        return builder;
    }
}
