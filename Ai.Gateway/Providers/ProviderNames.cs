namespace Ai.Gateway.Providers;

/// <summary>The values of <c>ModelDefinition.Provider</c>.</summary>
public static class ProviderNames
{
    public const string Gemini = "gemini";
    public const string OpenAI = "openai";
    public const string Offline = "offline";
}
