using System.Text.Json.Serialization;

namespace Ai.Gateway.Prompts;

/// <summary>The language a prompt is written in; JSON <c>"en"</c> or <c>"ar"</c>.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PromptLanguage>))]
public enum PromptLanguage
{
    [JsonStringEnumMemberName("en")]
    English,

    [JsonStringEnumMemberName("ar")]
    Arabic,
}

public static class PromptLanguages
{
    public static IReadOnlyList<string> Codes { get; } = ["en", "ar"];

    public static string Code(this PromptLanguage language) => language == PromptLanguage.Arabic ? "ar" : "en";

    /// <summary>Parses <c>en</c> or <c>ar</c>; null or empty means English.</summary>
    public static bool TryParse(string? code, out PromptLanguage language)
    {
        language = PromptLanguage.English;
        switch (code)
        {
            case null or "" or "en":
                return true;
            case "ar":
                language = PromptLanguage.Arabic;
                return true;
            default:
                return false;
        }
    }
}
