using System.Text.Json;
using System.Text.RegularExpressions;
using Ai.Gateway.Prompts.Texts;

namespace Ai.Gateway.Prompts.Formats;

/// <summary>A coding task: the programming language, instructions, and optionally the code to work on.</summary>
internal sealed partial class CodeFormat() : PromptFormat(
    """
    "programmingLanguage": { "type": "string", "minLength": 1, "maxLength": 50, "description": "e.g. C#, Python, TypeScript." },
    "instructions": { "type": "string", "minLength": 1, "maxLength": 100000, "description": "What to do: write, change, fix or explain." },
    "code": { "type": "string", "maxLength": 200000, "description": "The code to work on, if any." }
    """,
    "\"programmingLanguage\", \"instructions\"")
{
    private static readonly Dictionary<string, string> FenceTags = new(StringComparer.OrdinalIgnoreCase)
    {
        ["c#"] = "csharp",
        ["c++"] = "cpp",
        ["f#"] = "fsharp",
        ["objective-c"] = "objectivec",
    };

    public override string Name => "code";

    public override string Description => "A coding task: programming language, instructions and (optionally) the code to work on.";

    public override RenderedPrompt Render(JsonElement request, PromptLanguage language, FormatTexts texts)
    {
        var programmingLanguage = request.GetProperty("programmingLanguage").GetString()!;
        var code = Optional(request, "code");
        var prompt = Paragraphs(
            $"{texts.CodeTaskLabel} {request.GetProperty("instructions").GetString()}",
            $"{texts.CodeLanguageLabel} {programmingLanguage}",
            string.IsNullOrEmpty(code) ? null : $"{texts.CodeLabel}\n{Fenced(code, programmingLanguage)}",
            texts.CodeAnswer);
        return new RenderedPrompt(Name, language, texts.CodeSystem, prompt);
    }

    // A fence longer than any run of backticks in the code, so the code cannot close it early.
    private static string Fenced(string code, string programmingLanguage)
    {
        var longestRun = Backticks().Matches(code).Select(m => m.Length).DefaultIfEmpty(0).Max();
        var fence = new string('`', Math.Max(3, longestRun + 1));
        var tag = FenceTags.TryGetValue(programmingLanguage.Trim(), out var known)
            ? known
            : NotInTag().Replace(programmingLanguage.ToLowerInvariant(), "");
        return $"{fence}{tag}\n{code.TrimEnd('\n')}\n{fence}";
    }

    [GeneratedRegex("`+")]
    private static partial Regex Backticks();

    [GeneratedRegex("[^a-z0-9_+-]")]
    private static partial Regex NotInTag();
}
