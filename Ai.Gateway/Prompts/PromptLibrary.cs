using System.Collections.Frozen;
using System.Text.Json;
using Ai.Gateway.Prompts.Formats;
using Ai.Gateway.Prompts.Presets;
using Ai.Gateway.Prompts.Texts;

namespace Ai.Gateway.Prompts;

/// <summary>The prompt formats of the seed project (json, context, examples, code, extraction) and its system presets, in English and Arabic.</summary>
public sealed class PromptLibrary : IPromptLibrary
{
    private readonly FrozenDictionary<string, PromptFormat> _formats;

    public PromptLibrary()
    {
        PromptFormat[] formats = [new JsonFormat(), new ContextFormat(), new ExamplesFormat(), new CodeFormat(), new ExtractionFormat()];
        _formats = formats.ToFrozenDictionary(f => f.Name, StringComparer.Ordinal);
        Formats = formats.Select(f => new PromptFormatInfo(f.Name, f.Description, f.RequestSchema.Json)).ToList();

        var english = PresetCatalog.For(PromptLanguage.English);
        var arabic = PresetCatalog.For(PromptLanguage.Arabic);
        if (!english.Keys.ToHashSet().SetEquals(arabic.Keys))
        {
            throw new InvalidOperationException("Every preset needs both an English and an Arabic text.");
        }

        Presets = english.Select(p => new PromptPresetInfo(p.Key, p.Value.Description, PromptLanguages.Codes)).ToList();
    }

    public IReadOnlyList<PromptFormatInfo> Formats { get; }

    public IReadOnlyList<PromptPresetInfo> Presets { get; }

    public PromptRenderResult Render(string format, JsonElement request)
    {
        if (!_formats.TryGetValue(format, out var renderer))
        {
            return new PromptRenderResult(PromptRenderStatus.UnknownFormat, null, []);
        }

        var errors = renderer.RequestSchema.Validate(request);
        if (errors.Count == 0)
        {
            errors = renderer.Check(request).ToList();
        }

        if (errors.Count > 0)
        {
            return new PromptRenderResult(PromptRenderStatus.InvalidRequest, null, errors);
        }

        PromptLanguages.TryParse(request.TryGetProperty("language", out var code) ? code.GetString() : null, out var language);
        return new PromptRenderResult(PromptRenderStatus.Rendered, renderer.Render(request, language, FormatTexts.For(language)), []);
    }

    public PromptPreset? GetPreset(string name, PromptLanguage language)
    {
        if (!PresetCatalog.For(language).TryGetValue(name, out var text))
        {
            return null;
        }

        var examples = text.Examples
            .SelectMany(e => new[] { PromptMessage.FromUser(e.User), PromptMessage.FromAssistant(e.Assistant) })
            .ToList();
        return new PromptPreset(name, language, text.Description, text.System, examples);
    }
}
