using System.Text.Json;
using System.Text.Json.Nodes;
using Ai.Gateway.Prompts.Texts;
using Ai.Gateway.Tools;

namespace Ai.Gateway.Prompts.Formats;

/// <summary>Extracts named fields from a text into one JSON object; missing fields are null.</summary>
internal sealed class ExtractionFormat() : PromptFormat(
    """
    "text": { "type": "string", "minLength": 1, "maxLength": 200000 },
    "fields": {
      "type": "array", "minItems": 1, "maxItems": 100,
      "description": "Field names, or objects with a name, a description and a type.",
      "items": {
        "anyOf": [
          { "type": "string", "minLength": 1, "maxLength": 100 },
          {
            "type": "object",
            "properties": {
              "name": { "type": "string", "minLength": 1, "maxLength": 100 },
              "description": { "type": "string", "maxLength": 1000 },
              "type": { "enum": ["string", "number", "integer", "boolean", "date", "array", "object"], "description": "Default string." }
            },
            "required": ["name"],
            "additionalProperties": false
          }
        ]
      }
    }
    """,
    "\"text\", \"fields\"")
{
    public override string Name => "extraction";

    public override string Description => "Extract named fields from a text into a JSON object (null for what the text does not state).";

    public override IEnumerable<SchemaError> Check(JsonElement request)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var fields = Fields(request);
        for (var i = 0; i < fields.Count; i++)
        {
            if (!seen.Add(fields[i].Name))
            {
                yield return new SchemaError($"/fields/{i}", $"The field '{fields[i].Name}' is listed twice.");
            }
        }
    }

    public override RenderedPrompt Render(JsonElement request, PromptLanguage language, FormatTexts texts)
    {
        var fields = Fields(request);
        var list = fields.Select(f =>
            $"- {f.Name} ({texts.FieldTypes[f.Type]})" + (f.Description is null ? "" : $": {f.Description}"));
        var schema = ResponseSchema(fields);

        var prompt = Paragraphs(
            texts.ExtractionIntro,
            $"{texts.ExtractionFieldsHeading}\n{string.Join('\n', list)}",
            $"{texts.ExtractionTextHeading}\n<text>\n{request.GetProperty("text").GetString()}\n</text>",
            texts.ExtractionRules,
            $"{texts.ExtractionSchemaIntro}\n{schema.ToJsonString(PromptJson)}");
        return new RenderedPrompt(Name, language, texts.ExtractionSystem, prompt)
        {
            ResponseSchema = JsonSerializer.SerializeToElement(schema),
        };
    }

    // Every field is required but nullable: the key must be there, null when the text does not say.
    private static JsonObject ResponseSchema(IReadOnlyList<Field> fields)
    {
        var properties = new JsonObject();
        foreach (var field in fields)
        {
            var property = field.Type == "date"
                ? new JsonObject { ["type"] = new JsonArray("string", "null"), ["format"] = "date" }
                : new JsonObject { ["type"] = new JsonArray(field.Type, "null") };
            if (field.Description is not null)
            {
                property["description"] = field.Description;
            }

            properties[field.Name] = property;
        }

        return new JsonObject
        {
            ["type"] = "object",
            ["properties"] = properties,
            ["required"] = new JsonArray(fields.Select(f => (JsonNode)f.Name).ToArray()),
            ["additionalProperties"] = false,
        };
    }

    private static List<Field> Fields(JsonElement request) => request.GetProperty("fields").EnumerateArray()
        .Select(f => f.ValueKind == JsonValueKind.String
            ? new Field(f.GetString()!, null, "string")
            : new Field(f.GetProperty("name").GetString()!, Optional(f, "description"), Optional(f, "type") ?? "string"))
        .ToList();

    private sealed record Field(string Name, string? Description, string Type);
}
