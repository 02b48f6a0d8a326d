using System.Globalization;
using System.Text;
using System.Text.Json;
using Ai.Gateway.Prompts.Texts;

namespace Ai.Gateway.Prompts.Formats;

/// <summary>Answers a question from the documents given, citing them by number.</summary>
internal sealed class ContextFormat() : PromptFormat(
    """
    "question": { "type": "string", "minLength": 1, "maxLength": 100000 },
    "documents": {
      "type": "array", "minItems": 1, "maxItems": 100,
      "description": "The context: texts, or objects with an optional title and a content.",
      "items": {
        "anyOf": [
          { "type": "string", "minLength": 1 },
          {
            "type": "object",
            "properties": { "title": { "type": "string", "maxLength": 500 }, "content": { "type": "string", "minLength": 1 } },
            "required": ["content"],
            "additionalProperties": false
          }
        ]
      }
    }
    """,
    "\"question\", \"documents\"")
{
    public override string Name => "context";

    public override string Description => "Answer a question using only the context documents provided, citing them by number.";

    public override RenderedPrompt Render(JsonElement request, PromptLanguage language, FormatTexts texts)
    {
        var documents = new StringBuilder(texts.ContextDocumentsHeading);
        var number = 0;
        foreach (var document in request.GetProperty("documents").EnumerateArray())
        {
            var (title, content) = document.ValueKind == JsonValueKind.String
                ? (null, document.GetString())
                : (Optional(document, "title"), document.GetProperty("content").GetString());
            var titleAttribute = title is null ? "" : $" title=\"{title.Replace("\"", "&quot;", StringComparison.Ordinal)}\"";
            documents.Append(CultureInfo.InvariantCulture, $"\n\n<document id=\"{++number}\"{titleAttribute}>\n{content}\n</document>");
        }

        var prompt = Paragraphs(
            documents.ToString(),
            $"{texts.ContextQuestionLabel} {request.GetProperty("question").GetString()}",
            texts.ContextInstructions);
        return new RenderedPrompt(Name, language, texts.ContextSystem, prompt);
    }
}
