using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Web.Console.Apis;

internal static class AccountApi
{
    public const string SignOutPath = "/account/sign-out";

    public static IEndpointRouteBuilder MapAccountApi(this IEndpointRouteBuilder app)
    {
        app.MapPost(SignOutPath, SignOut).WithName("SignOut").ExcludeFromDescription();
        return app;
    }

    // A form post with the antiforgery token, so another site cannot sign a user out.
    private static async Task<Results<RedirectHttpResult, BadRequest>> SignOut(HttpContext context, IAntiforgery antiforgery)
    {
        if (!await antiforgery.IsRequestValidAsync(context))
        {
            return TypedResults.BadRequest();
        }

        await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        return TypedResults.LocalRedirect("~/sign-in");
    }
}
