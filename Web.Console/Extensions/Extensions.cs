using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Web.Console.Services;

namespace Web.Console.Extensions;

internal static class Extensions
{
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        // The typed clients carry no key of their own: every call sends the signed-in user's key (ApiClients).
        builder.AddOrchestrationClient();
        builder.AddGatewayClient();
        builder.Services.AddScoped<ApiClients>();
        builder.Services.AddScoped<KeySignIn>();
        builder.Services.AddScoped<RunEventFeed>();
        builder.Services.TryAddSingleton(TimeProvider.System);

        builder.Services.AddRazorComponents()
            .AddInteractiveServerComponents();
        builder.Services.AddCascadingAuthenticationState();

        // The API key lives only in this cookie: encrypted by Data Protection, HttpOnly, same-site, never in a URL
        // or in browser storage. The browser holds a sealed box only the server can open.
        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie(options =>
            {
                options.Cookie.Name = ConsoleClaims.CookieName;
                options.Cookie.HttpOnly = true;
                options.Cookie.SameSite = SameSiteMode.Strict;
                options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                options.LoginPath = "/sign-in";
                options.LogoutPath = "/account/sign-out";
                options.AccessDeniedPath = "/sign-in";
                options.ExpireTimeSpan = TimeSpan.FromHours(8);
                options.SlidingExpiration = true;
            });
        builder.Services.AddAuthorization();
    }
}
