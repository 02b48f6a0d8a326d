namespace Ai.Gateway.Prompts.Presets;

/// <summary>A preset's text in one language: what it is for, the system prompt, few-shot pairs.</summary>
internal sealed record PresetText(string Description, string System, IReadOnlyList<(string User, string Assistant)> Examples);

/// <summary>The system presets (base, code-generation, code-review, debugging, classification, json-extraction), per language.</summary>
internal static partial class PresetCatalog
{
    public static IReadOnlyDictionary<string, PresetText> For(PromptLanguage language) =>
        language == PromptLanguage.Arabic ? Arabic : English;
}
