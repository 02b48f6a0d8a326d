using System.Text.Json;
using Ai.Gateway.Prompts.Texts;
using Ai.Gateway.Tools;

namespace Ai.Gateway.Prompts.Formats;

/// <summary>Asks for an answer in JSON that matches a JSON Schema, or has the shape of an example.</summary>
internal sealed class JsonFormat() : PromptFormat(
    """
    "task": { "type": "string", "minLength": 1, "maxLength": 100000, "description": "What to answer." },
    "schema": { "type": ["object", "boolean"], "description": "A JSON Schema the answer must match." },
    "example": { "description": "An example answer whose shape (keys and value types) the answer must follow." }
    """,
    "\"task\"")
{
    public override string Name => "json";

    public override string Description => "Ask for an answer in JSON only, matching a JSON Schema or the shape of an example.";

    public override IEnumerable<SchemaError> Check(JsonElement request)
    {
        if (request.TryGetProperty("schema", out var schema) && !JsonSchemaValidator.TryCreate(schema, out _, out var error))
        {
            yield return new SchemaError("/schema", $"Not a valid JSON Schema: {error}");
        }
    }

    public override RenderedPrompt Render(JsonElement request, PromptLanguage language, FormatTexts texts)
    {
        var hasSchema = request.TryGetProperty("schema", out var schema);
        var hasExample = request.TryGetProperty("example", out var example);
        var prompt = Paragraphs(
            request.GetProperty("task").GetString(),
            hasSchema ? $"{texts.JsonSchemaIntro}\n{JsonSerializer.Serialize(schema, PromptJson)}" : null,
            hasExample ? $"{texts.JsonExampleIntro}\n{JsonSerializer.Serialize(example, PromptJson)}" : null,
            hasSchema || hasExample ? null : texts.JsonAnyIntro,
            texts.JsonOnly);

        return new RenderedPrompt(Name, language, texts.JsonSystem, prompt) { ResponseSchema = hasSchema ? schema.Clone() : null };
    }
}
