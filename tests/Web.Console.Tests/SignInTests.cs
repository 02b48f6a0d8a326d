using System.Net;
using System.Security.Claims;
using Bunit;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Web.Console.Components.Pages;
using Web.Console.Services;

namespace Web.Console.Tests;

/// <summary>Sign-in: the key is checked by orchestration-api, sealed in the cookie's principal, and never shown.</summary>
public sealed class SignInTests : BunitContext
{
    private const string AdminKey = "admin-key-0123456789abcdef";
    private const string ClientKey = "client-key-0123456789abcdef";
    private const string AgentKey = "agent-key-0123456789abcdef";

    private readonly StubApi _api = new();
    private readonly RecordingAuthentication _authentication = new();
    private readonly DefaultHttpContext _http = new();

    public SignInTests()
    {
        _api.Answer = request => (request.RequestUri!.AbsolutePath, StubApi.KeyOf(request)) switch
        {
            (_, AdminKey or ClientKey) when request.RequestUri.AbsolutePath == "/api/runs" => StubApi.Json(HttpStatusCode.OK, """{"items":[],"nextCursor":null}"""),
            ("/api/dead-letters", AdminKey) => StubApi.Json(HttpStatusCode.OK, """{"topics":[]}"""),
            (_, ClientKey or AgentKey) => StubApi.Json(HttpStatusCode.Forbidden, """{"title":"Forbidden","status":403}"""),
            _ => StubApi.Json(HttpStatusCode.Unauthorized, """{"title":"Unauthorized","status":401}"""),
        };
        Services.AddSingleton<IHttpClientFactory>(_api);
        Services.AddScoped<ApiClients>();
        Services.AddScoped<KeySignIn>();
        AddAuthorization();
        _http.RequestServices = new ServiceCollection().AddSingleton<IAuthenticationService>(_authentication).BuildServiceProvider();
    }

    private IRenderedComponent<SignIn> SignInWith(string key, string returnUrl = "/runs")
    {
        var cut = Render<SignIn>(p => p.AddCascadingValue(_http));
        cut.Find("#api-key").Change(key);
        cut.Find("input[type=hidden][name='Input.ReturnUrl']").SetAttribute("value", returnUrl);
        cut.Find("form").Submit();
        return cut;
    }

    [Fact]
    public void An_admin_key_signs_in_with_its_roles_and_the_key_sealed_in_the_cookie_principal()
    {
        var cut = Render<SignIn>(p => p.AddCascadingValue(_http));
        cut.Find("#api-key").Change(AdminKey);
        cut.Find("form").Submit();

        var principal = Assert.Single(_authentication.SignedIn);
        Assert.Equal(AdminKey, principal.FindFirst(ConsoleClaims.ApiKey)!.Value);
        Assert.True(principal.IsInRole("admin"));
        Assert.True(principal.IsInRole("client"));
        Assert.All(_api.Requests, r => Assert.Equal(AdminKey, r.Key));
        Assert.EndsWith("/", Services.GetRequiredService<NavigationManager>().Uri, StringComparison.Ordinal);
        Assert.DoesNotContain(AdminKey, cut.Markup, StringComparison.Ordinal);
    }

    [Fact]
    public void A_client_key_signs_in_without_admin()
    {
        SignInWith(ClientKey);

        var principal = Assert.Single(_authentication.SignedIn);
        Assert.True(principal.IsInRole("client"));
        Assert.False(principal.IsInRole("admin"));
    }

    [Theory]
    [InlineData("wrong-key-0123456789abcdef", "does not know this API key")]
    [InlineData(AgentKey, "lacks the client role")]
    [InlineData("short", "at least 16 characters")]
    public void A_key_that_may_not_use_the_console_stays_on_the_page_with_the_reason(string key, string reason)
    {
        var cut = SignInWith(key);

        Assert.Empty(_authentication.SignedIn);
        Assert.Contains(reason, cut.Find("#sign-in-error").TextContent, StringComparison.Ordinal);
        Assert.DoesNotContain(key, cut.Markup, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_key_is_a_field_error_and_calls_nothing()
    {
        var cut = Render<SignIn>(p => p.AddCascadingValue(_http));
        cut.Find("form").Submit();

        Assert.Contains("Enter an API key.", cut.Find(".validation-message").TextContent, StringComparison.Ordinal);
        Assert.Empty(_api.Requests);
        Assert.Empty(_authentication.SignedIn);
    }

    [Theory]
    [InlineData("/runs/r-1", "/runs/r-1")]
    [InlineData("https://evil.example/", "/")]
    [InlineData("//evil.example/", "/")]
    [InlineData("/\\evil.example/", "/")]
    [InlineData(null, "/")]
    public void Only_local_return_paths_are_followed(string? returnUrl, string expected) =>
        Assert.Equal(expected, SignIn.LocalPath(returnUrl));

    [Fact]
    public async Task The_clients_send_the_signed_in_users_key_and_no_other()
    {
        AddAuthorization().SetAuthorized("client").SetClaims(new Claim(ConsoleClaims.ApiKey, ClientKey));
        var clients = Services.GetRequiredService<ApiClients>();

        await (await clients.OrchestrationAsync()).ListRunsAsync(cancellationToken: Xunit.TestContext.Current.CancellationToken);

        var request = Assert.Single(_api.Requests);
        Assert.Equal(ClientKey, request.Key);
        Assert.StartsWith("/api/runs", request.Path, StringComparison.Ordinal);
    }

    private sealed class RecordingAuthentication : IAuthenticationService
    {
        public List<ClaimsPrincipal> SignedIn { get; } = [];

        public Task SignInAsync(HttpContext context, string? scheme, ClaimsPrincipal principal, AuthenticationProperties? properties)
        {
            SignedIn.Add(principal);
            return Task.CompletedTask;
        }

        public Task<AuthenticateResult> AuthenticateAsync(HttpContext context, string? scheme) => Task.FromResult(AuthenticateResult.NoResult());

        public Task ChallengeAsync(HttpContext context, string? scheme, AuthenticationProperties? properties) => Task.CompletedTask;

        public Task ForbidAsync(HttpContext context, string? scheme, AuthenticationProperties? properties) => Task.CompletedTask;

        public Task SignOutAsync(HttpContext context, string? scheme, AuthenticationProperties? properties) => Task.CompletedTask;
    }
}
