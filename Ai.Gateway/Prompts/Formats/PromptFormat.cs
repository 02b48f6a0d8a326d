using System.Text.Encodings.Web;
using System.Text.Json;
using Ai.Gateway.Prompts.Texts;
using Ai.Gateway.Tools;

namespace Ai.Gateway.Prompts.Formats;

/// <summary>
/// One prompt format: the JSON Schema of its request (always with <c>language</c>), checks the
/// schema cannot express, and the rendering from a valid request.
/// </summary>
internal abstract class PromptFormat
{
    /// <summary>Indented JSON that keeps Arabic and other non-ASCII text readable inside a prompt.</summary>
    protected static readonly JsonSerializerOptions PromptJson = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    protected PromptFormat(string properties, string required)
    {
        RequestSchema = JsonSchemaValidator.Create(JsonDocument.Parse($$"""
            {
              "type": "object",
              "properties": {
                "language": { "enum": ["en", "ar"], "description": "The language of the prompt. Default en." },
                {{properties}}
              },
              "required": [{{required}}],
              "additionalProperties": false
            }
            """).RootElement);
    }

    public abstract string Name { get; }

    public abstract string Description { get; }

    public JsonSchemaValidator RequestSchema { get; }

    /// <summary>Errors the schema cannot find, on a request that passed it.</summary>
    public virtual IEnumerable<SchemaError> Check(JsonElement request) => [];

    public abstract RenderedPrompt Render(JsonElement request, PromptLanguage language, FormatTexts texts);

    protected static string? Optional(JsonElement request, string property) =>
        request.TryGetProperty(property, out var value) ? value.GetString() : null;

    protected static string Paragraphs(params IEnumerable<string?> parts) =>
        string.Join("\n\n", parts.Where(p => !string.IsNullOrWhiteSpace(p)));
}
