using System.Text.Json;
using System.Text.RegularExpressions;
using Ai.Gateway.Prompts;

namespace Ai.Gateway.Tests.Prompts;

public sealed partial class PromptPresetTests
{
    private static readonly string[] Names = ["base", "code-generation", "code-review", "debugging", "classification", "json-extraction"];
    private readonly PromptLibrary _library = new();

    public static TheoryData<string, PromptLanguage> EveryPresetInEveryLanguage()
    {
        var data = new TheoryData<string, PromptLanguage>();
        foreach (var name in Names)
        {
            data.Add(name, PromptLanguage.English);
            data.Add(name, PromptLanguage.Arabic);
        }

        return data;
    }

    [Fact]
    public void The_seed_presets_are_listed_in_both_languages()
    {
        Assert.Equal(Names, _library.Presets.Select(p => p.Name));
        Assert.All(_library.Presets, p => Assert.Equal(["en", "ar"], p.Languages));
    }

    [Theory]
    [MemberData(nameof(EveryPresetInEveryLanguage))]
    public void A_preset_is_a_system_prompt_then_user_and_assistant_examples(string name, PromptLanguage language)
    {
        var preset = _library.GetPreset(name, language)!;

        Assert.Equal(name, preset.Name);
        Assert.Equal(language, preset.Language);
        Assert.Equal("system", preset.Messages[0].Role);
        Assert.Equal(preset.SystemPrompt, preset.Messages[0].Content);
        Assert.NotEmpty(preset.Examples);
        Assert.Equal(0, preset.Examples.Count % 2);
        Assert.All(preset.Examples.Where((_, i) => i % 2 == 0), m => Assert.Equal("user", m.Role));
        Assert.All(preset.Examples.Where((_, i) => i % 2 == 1), m => Assert.Equal("assistant", m.Role));
        Assert.Equal(preset.Messages.Select(m => m.Role), preset.ToChatMessages().Select(m => m.Role.Value));
    }

    [Theory]
    [MemberData(nameof(EveryPresetInEveryLanguage))]
    public void A_preset_is_written_in_its_language(string name, PromptLanguage language)
    {
        var preset = _library.GetPreset(name, language)!;

        if (language == PromptLanguage.Arabic)
        {
            Assert.Matches(ArabicWords(), preset.SystemPrompt);
            Assert.Matches(ArabicWords(), preset.Description + " ");
            Assert.All(preset.Examples.Where(m => m.Role == "user"), m => Assert.Matches(ArabicLetter(), m.Content));
        }
        else
        {
            Assert.DoesNotMatch(ArabicLetter(), preset.SystemPrompt + preset.Description + string.Concat(preset.Examples.Select(m => m.Content)));
        }
    }

    [Theory]
    [InlineData(PromptLanguage.English)]
    [InlineData(PromptLanguage.Arabic)]
    public void Classification_examples_answer_with_one_of_their_labels(PromptLanguage language)
    {
        var examples = _library.GetPreset("classification", language)!.Examples;

        for (var i = 0; i < examples.Count; i += 2)
        {
            var labels = examples[i].Content.Split('\n')[0].Split(':', 2)[1].Split([',', '،'], StringSplitOptions.TrimEntries);
            Assert.Contains(examples[i + 1].Content, labels);
        }
    }

    [Theory]
    [InlineData(PromptLanguage.English)]
    [InlineData(PromptLanguage.Arabic)]
    public void Json_extraction_examples_answer_with_one_json_object_holding_exactly_the_fields(PromptLanguage language)
    {
        var examples = _library.GetPreset("json-extraction", language)!.Examples;

        for (var i = 0; i < examples.Count; i += 2)
        {
            var fields = examples[i].Content.Split('\n')[0].Split(':', 2)[1].Split(',', StringSplitOptions.TrimEntries);
            using var answer = JsonDocument.Parse(examples[i + 1].Content);
            Assert.Equal(fields, answer.RootElement.EnumerateObject().Select(p => p.Name));
        }
    }

    [Fact]
    public void An_unknown_preset_is_null()
    {
        Assert.Null(_library.GetPreset("pirate", PromptLanguage.English));
    }

    [GeneratedRegex(@"(\p{IsArabic}{2,}\s+){3}")]
    private static partial Regex ArabicWords();

    [GeneratedRegex(@"\p{IsArabic}")]
    private static partial Regex ArabicLetter();
}
