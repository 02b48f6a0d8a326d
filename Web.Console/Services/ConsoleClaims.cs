namespace Web.Console.Services;

/// <summary>What the console's auth cookie carries.</summary>
internal static class ConsoleClaims
{
    public const string CookieName = "console.auth";

    /// <summary>The user's API key: sent by the server on every call it makes for the user, never to the browser in clear.</summary>
    public const string ApiKey = "console:api-key";
}
