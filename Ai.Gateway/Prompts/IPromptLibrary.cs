using System.Text.Json;
using Ai.Gateway.Tools;

namespace Ai.Gateway.Prompts;

public sealed record PromptFormatInfo(string Name, string Description, JsonElement RequestSchema);

public sealed record PromptPresetInfo(string Name, string Description, IReadOnlyList<string> Languages);

public enum PromptRenderStatus
{
    Rendered,
    UnknownFormat,
    InvalidRequest,
}

/// <summary>What came of a render: the prompt, or why there is none (errors carry JSON Pointer paths).</summary>
public sealed record PromptRenderResult(PromptRenderStatus Status, RenderedPrompt? Prompt, IReadOnlyList<SchemaError> Errors);

/// <summary>The prompt formats (json, context, examples, code, extraction) and system presets, by name.</summary>
public interface IPromptLibrary
{
    IReadOnlyList<PromptFormatInfo> Formats { get; }

    IReadOnlyList<PromptPresetInfo> Presets { get; }

    /// <summary>
    /// Renders <paramref name="request"/> (a JSON object: <c>language</c> "en" | "ar", default "en",
    /// plus the format's fields, see <see cref="PromptFormatInfo.RequestSchema"/>) with the named format.
    /// </summary>
    PromptRenderResult Render(string format, JsonElement request);

    /// <summary>The named preset in <paramref name="language"/>, or null when there is none.</summary>
    PromptPreset? GetPreset(string name, PromptLanguage language);
}
