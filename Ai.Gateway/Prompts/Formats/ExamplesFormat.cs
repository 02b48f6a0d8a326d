using System.Text.Json;
using Ai.Gateway.Prompts.Texts;

namespace Ai.Gateway.Prompts.Formats;

/// <summary>Few-shot: input/output pairs in order, then the new input.</summary>
internal sealed class ExamplesFormat() : PromptFormat(
    """
    "task": { "type": "string", "maxLength": 100000, "description": "Optional instructions that come before the examples." },
    "examples": {
      "type": "array", "minItems": 1, "maxItems": 50,
      "items": {
        "type": "object",
        "properties": { "input": { "type": "string" }, "output": { "type": "string" } },
        "required": ["input", "output"],
        "additionalProperties": false
      }
    },
    "input": { "type": "string", "minLength": 1, "maxLength": 100000, "description": "The input to answer." }
    """,
    "\"examples\", \"input\"")
{
    public override string Name => "examples";

    public override string Description => "Few-shot prompting: example input/output pairs, then the input to answer in the same way.";

    public override RenderedPrompt Render(JsonElement request, PromptLanguage language, FormatTexts texts)
    {
        var examples = request.GetProperty("examples").EnumerateArray()
            .Select((e, i) => $"{texts.ExampleLabel} {i + 1}\n{texts.InputLabel} {e.GetProperty("input").GetString()}\n{texts.OutputLabel} {e.GetProperty("output").GetString()}");

        var prompt = Paragraphs(
            Optional(request, "task"),
            texts.ExamplesIntro,
            Paragraphs(examples),
            $"{texts.ExamplesFinal}\n{texts.InputLabel} {request.GetProperty("input").GetString()}\n{texts.OutputLabel}");
        return new RenderedPrompt(Name, language, texts.ExamplesSystem, prompt);
    }
}
