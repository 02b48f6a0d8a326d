using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.Cookies;
using Orchestration.Client;

namespace Web.Console.Services;

/// <summary>The outcome of checking a key: a principal to sign in, or why not.</summary>
internal sealed record KeyCheck(ClaimsPrincipal? Principal, string? Error)
{
    public bool Succeeded => Principal is not null;
}

/// <summary>
/// Checks an API key against orchestration-api itself (the services own the keys; the console keeps no list): a key
/// that may list runs holds the client role, one that may list dead letters holds admin.
/// </summary>
internal sealed class KeySignIn(ApiClients clients)
{
    public async Task<KeyCheck> CheckAsync(string? apiKey, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(apiKey))
        {
            return new(null, "Enter an API key.");
        }

        apiKey = apiKey.Trim();
        if (apiKey.Length < ApiClientSettings.MinimumApiKeyLength)
        {
            return new(null, $"An API key has at least {ApiClientSettings.MinimumApiKeyLength} characters.");
        }

        var client = clients.Orchestration(apiKey);
        try
        {
            await client.ListRunsAsync(new RunQuery { Limit = 1 }, cancellationToken);
        }
        catch (ApiException e) when (e.StatusCode == HttpStatusCode.Unauthorized)
        {
            return new(null, "orchestration-api does not know this API key.");
        }
        catch (ApiException e) when (e.StatusCode == HttpStatusCode.Forbidden)
        {
            return new(null, "This API key lacks the client role the console needs.");
        }
        catch (HttpRequestException)
        {
            return new(null, "orchestration-api cannot be reached; try again in a moment.");
        }

        var roles = new List<string> { "client" };
        try
        {
            await client.ListDeadLetterTopicsAsync(cancellationToken);
            roles.Add("admin");
        }
        catch (ApiException e) when (e.StatusCode == HttpStatusCode.Forbidden)
        {
        }

        var claims = new List<Claim> { new(ClaimTypes.Name, roles.Contains("admin") ? "admin" : "client"), new(ConsoleClaims.ApiKey, apiKey) };
        claims.AddRange(roles.Select(role => new Claim(ClaimTypes.Role, role)));
        return new(new ClaimsPrincipal(new ClaimsIdentity(claims, CookieAuthenticationDefaults.AuthenticationScheme)), null);
    }
}
