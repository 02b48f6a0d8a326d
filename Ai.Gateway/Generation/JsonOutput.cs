using System.Text.Json;
using Ai.Gateway.Tools;

namespace Ai.Gateway.Generation;

/// <summary>Finds and checks the JSON in a model's answer.</summary>
public static class JsonOutput
{
    /// <summary>Parses the answer (tolerating a Markdown code fence around it) and validates it.</summary>
    public static (JsonElement? Data, IReadOnlyList<SchemaError> Errors) Check(string text, JsonSchemaValidator? schema)
    {
        var candidate = StripFence(text.Trim());
        JsonElement data;
        try
        {
            using var document = JsonDocument.Parse(candidate);
            data = document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            return (null, [new SchemaError("", $"The answer is not valid JSON: {ex.Message}")]);
        }

        var errors = schema?.Validate(data) ?? [];
        return (errors.Count == 0 ? data : null, errors);
    }

    public static string RepairPrompt(IReadOnlyList<SchemaError> errors, JsonElement? schema) =>
        "Your previous answer was not valid for the requested format. Problems:\n"
        + string.Join("\n", errors.Select(e => $"- {(e.Path.Length == 0 ? "(root)" : e.Path)}: {e.Message}"))
        + (schema is { } s ? $"\nThe JSON Schema it must match:\n{s.GetRawText()}" : "")
        + "\nReply again with only the corrected JSON, no explanations and no code fences.";

    private static string StripFence(string text)
    {
        if (!text.StartsWith("```", StringComparison.Ordinal))
        {
            return text;
        }

        var firstLine = text.IndexOf('\n', StringComparison.Ordinal);
        var closing = text.LastIndexOf("```", StringComparison.Ordinal);
        return firstLine > 0 && closing > firstLine ? text[(firstLine + 1)..closing].Trim() : text;
    }
}
