using System.Text.Json;
using System.Text.RegularExpressions;
using Ai.Gateway.Prompts;

namespace Ai.Gateway.Tests.Prompts;

public sealed partial class PromptFormatTests
{
    private readonly PromptLibrary _library = new();

    public static TheoryData<string, string> EveryFormatInEveryLanguage() => new()
    {
        { "json", "en" }, { "json", "ar" },
        { "context", "en" }, { "context", "ar" },
        { "examples", "en" }, { "examples", "ar" },
        { "code", "en" }, { "code", "ar" },
        { "extraction", "en" }, { "extraction", "ar" },
    };

    [Theory]
    [MemberData(nameof(EveryFormatInEveryLanguage))]
    public void Every_format_renders_in_its_language_as_a_system_and_a_user_message(string format, string language)
    {
        var prompt = Render(format, SampleRequest(format, language));

        Assert.Equal(format, prompt.Format);
        Assert.Equal(language, prompt.Language.Code());
        Assert.NotNull(prompt.SystemPrompt);
        Assert.Equal(["system", "user"], prompt.Messages.Select(m => m.Role));
        Assert.Equal(prompt.SystemPrompt, prompt.Messages[0].Content);
        Assert.Equal(prompt.Prompt, prompt.Messages[1].Content);
        if (language == "ar")
        {
            Assert.Matches(ArabicWords(), prompt.SystemPrompt);
            Assert.Matches(ArabicWords(), prompt.Prompt);
        }
        else
        {
            Assert.DoesNotMatch(ArabicLetter(), prompt.SystemPrompt + prompt.Prompt);
        }
    }

    [Theory]
    [InlineData("en", "Respond with JSON only", "matches this JSON Schema")]
    [InlineData("ar", "أجب بصيغة JSON فقط", "مطابقة لمخطط JSON Schema")]
    public void Json_embeds_the_schema_and_asks_for_json_only(string language, string jsonOnly, string schemaIntro)
    {
        var prompt = Render("json", SampleRequest("json", language));

        Assert.StartsWith("List two primary colours.", prompt.Prompt, StringComparison.Ordinal);
        Assert.Contains(schemaIntro, prompt.Prompt, StringComparison.Ordinal);
        Assert.Contains("\"colours\": {", prompt.Prompt, StringComparison.Ordinal);
        Assert.Contains("\"minItems\": 2", prompt.Prompt, StringComparison.Ordinal);
        Assert.EndsWith(jsonOnly + (language == "en" ? ": no explanations, no Markdown and no code fences." : "، دون أي شرح أو تنسيق Markdown أو علامات لكتل الشيفرة."), prompt.Prompt, StringComparison.Ordinal);
        Assert.Equal("array", prompt.ResponseSchema!.Value.GetProperty("properties").GetProperty("colours").GetProperty("type").GetString());
    }

    [Fact]
    public void Json_with_an_example_asks_for_its_shape_and_keeps_non_ascii_text_readable()
    {
        var prompt = Render("json", """{ "task": "Describe Cairo.", "example": { "city": "القاهرة", "population": 1 } }""");

        Assert.Contains("same structure as this example", prompt.Prompt, StringComparison.Ordinal);
        Assert.Contains("\"city\": \"القاهرة\"", prompt.Prompt, StringComparison.Ordinal);
        Assert.Null(prompt.ResponseSchema);
    }

    [Fact]
    public void Json_without_schema_or_example_asks_for_any_json_value()
    {
        var prompt = Render("json", """{ "task": "Give me a number." }""");

        Assert.Contains("a single valid JSON value", prompt.Prompt, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("en", "Question: When can I get a refund?", "cite the documents you rely on by number")]
    [InlineData("ar", "السؤال: When can I get a refund?", "واذكر أرقام الوثائق التي استندت إليها")]
    public void Context_lists_the_documents_in_order_then_the_question(string language, string question, string instructions)
    {
        var prompt = Render("context", SampleRequest("context", language)).Prompt;

        var first = prompt.IndexOf("<document id=\"1\" title=\"Refund &quot;policy&quot;\">\nRefunds within 30 days.\n</document>", StringComparison.Ordinal);
        var second = prompt.IndexOf("<document id=\"2\">\nShipping takes a week.\n</document>", StringComparison.Ordinal);
        var asked = prompt.IndexOf(question, StringComparison.Ordinal);
        Assert.True(first >= 0 && second > first && asked > second, prompt);
        Assert.Contains(instructions, prompt, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("en", "Example 1\nInput: happy\nOutput: sad", "Example 2\nInput: hot\nOutput: cold", "Input: big\nOutput:")]
    [InlineData("ar", "مثال 1\nالمدخل: happy\nالمخرج: sad", "مثال 2\nالمدخل: hot\nالمخرج: cold", "المدخل: big\nالمخرج:")]
    public void Examples_appear_in_order_before_the_input(string language, string first, string second, string ending)
    {
        var prompt = Render("examples", SampleRequest("examples", language)).Prompt;

        var task = prompt.IndexOf("Give the opposite.", StringComparison.Ordinal);
        var one = prompt.IndexOf(first, StringComparison.Ordinal);
        var two = prompt.IndexOf(second, StringComparison.Ordinal);
        Assert.True(task == 0 && one > task && two > one, prompt);
        Assert.EndsWith(ending, prompt, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("en", "Task: Make it async.", "Programming language: C#")]
    [InlineData("ar", "المهمة: Make it async.", "لغة البرمجة: C#")]
    public void Code_gives_the_task_the_language_and_the_code_in_a_tagged_fence(string language, string task, string programmingLanguage)
    {
        var prompt = Render("code", SampleRequest("code", language)).Prompt;

        Assert.StartsWith(task, prompt, StringComparison.Ordinal);
        Assert.Contains(programmingLanguage, prompt, StringComparison.Ordinal);
        Assert.Contains("```csharp\nint Add(int a, int b) => a + b;\n```", prompt, StringComparison.Ordinal);
    }

    [Fact]
    public void Code_that_contains_a_fence_gets_a_longer_one()
    {
        var prompt = Render("code", """{ "programmingLanguage": "Markdown", "instructions": "Fix the typo.", "code": "```sh\necho helo\n```" }""").Prompt;

        Assert.Contains("````markdown\n```sh\necho helo\n```\n````", prompt, StringComparison.Ordinal);
    }

    [Fact]
    public void Code_without_code_asks_for_new_code()
    {
        var prompt = Render("code", """{ "programmingLanguage": "Python", "instructions": "Write fizzbuzz." }""").Prompt;

        Assert.DoesNotContain("Code:", prompt, StringComparison.Ordinal);
        Assert.Contains("single fenced code block", prompt, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("en", "- name (text)", "- total (number): The amount due", "- paid (true or false)")]
    [InlineData("ar", "- name (نص)", "- total (عدد): The amount due", "- paid (قيمة منطقية: true أو false)")]
    public void Extraction_lists_the_fields_wraps_the_text_and_gives_a_nullable_schema(string language, string name, string total, string paid)
    {
        var prompt = Render("extraction", SampleRequest("extraction", language));

        Assert.Contains($"{name}\n{total}\n{paid}", prompt.Prompt, StringComparison.Ordinal);
        Assert.Contains("<text>\nInvoice for Omar: 120.50 EGP, unpaid.\n</text>", prompt.Prompt, StringComparison.Ordinal);
        var schema = prompt.ResponseSchema!.Value;
        Assert.Equal(["name", "total", "paid"], schema.GetProperty("required").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("""["number","null"]""", schema.GetProperty("properties").GetProperty("total").GetProperty("type").GetRawText());
        Assert.False(schema.GetProperty("additionalProperties").GetBoolean());
        Assert.Contains("\"additionalProperties\": false", prompt.Prompt, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("json", """{ "schema": {} }""", "/task")]
    [InlineData("json", """{ "task": "" }""", "/task")]
    [InlineData("json", """{ "task": "x", "schema": { "type": 5 } }""", "/schema")]
    [InlineData("json", """{ "task": "x", "language": "fr" }""", "/language")]
    [InlineData("json", """{ "task": "x", "extra": 1 }""", "/extra")]
    [InlineData("context", """{ "question": "Why?" }""", "/documents")]
    [InlineData("context", """{ "question": "Why?", "documents": [] }""", "/documents")]
    [InlineData("context", """{ "question": "Why?", "documents": [{ "title": "no content" }] }""", "/documents/0/content")]
    [InlineData("examples", """{ "examples": [{ "input": "a" }], "input": "b" }""", "/examples/0/output")]
    [InlineData("code", """{ "instructions": "Do it." }""", "/programmingLanguage")]
    [InlineData("extraction", """{ "text": "t", "fields": ["a", { "name": "a" }] }""", "/fields/1")]
    [InlineData("extraction", """{ "text": "t", "fields": [{ "name": "a", "type": "money" }] }""", "/fields/0/type")]
    public void Invalid_requests_are_reported_with_json_pointer_paths(string format, string request, string path)
    {
        var result = _library.Render(format, JsonDocument.Parse(request).RootElement);

        Assert.Equal(PromptRenderStatus.InvalidRequest, result.Status);
        Assert.Contains(path, result.Errors.Select(e => e.Path));
    }

    [Fact]
    public void An_unknown_format_is_reported_as_such()
    {
        var result = _library.Render("haiku", JsonDocument.Parse("{}").RootElement);

        Assert.Equal(PromptRenderStatus.UnknownFormat, result.Status);
    }

    [Fact]
    public void The_library_lists_the_five_formats_with_their_request_schemas()
    {
        Assert.Equal(["json", "context", "examples", "code", "extraction"], _library.Formats.Select(f => f.Name));
        Assert.All(_library.Formats, f => Assert.True(f.RequestSchema.GetProperty("properties").TryGetProperty("language", out _)));
    }

    internal static string SampleRequest(string format, string language) => format switch
    {
        "json" => $$"""
            { "language": "{{language}}", "task": "List two primary colours.",
              "schema": { "type": "object", "properties": { "colours": { "type": "array", "items": { "type": "string" }, "minItems": 2 } }, "required": ["colours"] } }
            """,
        "context" => $$"""
            { "language": "{{language}}", "question": "When can I get a refund?",
              "documents": [ { "title": "Refund \"policy\"", "content": "Refunds within 30 days." }, "Shipping takes a week." ] }
            """,
        "examples" => $$"""
            { "language": "{{language}}", "task": "Give the opposite.",
              "examples": [ { "input": "happy", "output": "sad" }, { "input": "hot", "output": "cold" } ], "input": "big" }
            """,
        "code" => $$"""
            { "language": "{{language}}", "programmingLanguage": "C#", "instructions": "Make it async.", "code": "int Add(int a, int b) => a + b;\n" }
            """,
        "extraction" => $$"""
            { "language": "{{language}}", "text": "Invoice for Omar: 120.50 EGP, unpaid.",
              "fields": [ "name", { "name": "total", "type": "number", "description": "The amount due" }, { "name": "paid", "type": "boolean" } ] }
            """,
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    private RenderedPrompt Render(string format, string request)
    {
        var result = _library.Render(format, JsonDocument.Parse(request).RootElement);
        Assert.True(result.Status == PromptRenderStatus.Rendered, string.Join("; ", result.Errors.Select(e => $"{e.Path}: {e.Message}")));
        return result.Prompt!;
    }

    // At least three Arabic words: real Arabic text, not a stray letter.
    [GeneratedRegex(@"(\p{IsArabic}{2,}\s+){3}")]
    private static partial Regex ArabicWords();

    [GeneratedRegex(@"\p{IsArabic}")]
    private static partial Regex ArabicLetter();
}
