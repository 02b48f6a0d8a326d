using Microsoft.AspNetCore.Components.Authorization;
using Orchestration.Client;

namespace Web.Console.Services;

/// <summary>
/// The typed clients, sending the signed-in user's key (read from the auth cookie's claims by the server). The console
/// holds no standing key of its own: what a user sees and does is what their key may.
/// </summary>
internal sealed class ApiClients(IHttpClientFactory factory, AuthenticationStateProvider authentication)
{
    public async Task<OrchestrationClient> OrchestrationAsync() => Orchestration(await KeyAsync());

    public async Task<GatewayClient> GatewayAsync() => new(Create(OrchestrationClientExtensions.GatewayConnectionName, await KeyAsync()));

    public async Task<bool> IsAdminAsync() => (await authentication.GetAuthenticationStateAsync()).User.IsInRole("admin");

    public OrchestrationClient Orchestration(string apiKey) => new(Create(OrchestrationClientExtensions.OrchestrationConnectionName, apiKey));

    private async Task<string> KeyAsync()
    {
        var user = (await authentication.GetAuthenticationStateAsync()).User;
        return user.FindFirst(ConsoleClaims.ApiKey)?.Value
            ?? throw new InvalidOperationException("No one is signed in: the page should have sent the browser to /sign-in.");
    }

    private HttpClient Create(string name, string apiKey)
    {
        // The named client of Orchestration.Client's registration: base address by service discovery, timeout.
        var http = factory.CreateClient(name);
        http.DefaultRequestHeaders.Remove("X-Api-Key");
        http.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        return http;
    }
}
