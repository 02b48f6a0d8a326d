namespace Ai.Gateway.Prompts.Texts;

/// <summary>
/// Every sentence the prompt formats use, once per language. Required members make the compiler
/// refuse a language that lacks one.
/// </summary>
internal sealed partial record FormatTexts
{
    public static FormatTexts For(PromptLanguage language) => language == PromptLanguage.Arabic ? Arabic : English;

    public required string JsonSystem { get; init; }
    public required string JsonSchemaIntro { get; init; }
    public required string JsonExampleIntro { get; init; }
    public required string JsonAnyIntro { get; init; }
    public required string JsonOnly { get; init; }

    public required string ContextSystem { get; init; }
    public required string ContextDocumentsHeading { get; init; }
    public required string ContextQuestionLabel { get; init; }
    public required string ContextInstructions { get; init; }

    public required string ExamplesSystem { get; init; }
    public required string ExamplesIntro { get; init; }
    public required string ExampleLabel { get; init; }
    public required string InputLabel { get; init; }
    public required string OutputLabel { get; init; }
    public required string ExamplesFinal { get; init; }

    public required string CodeSystem { get; init; }
    public required string CodeTaskLabel { get; init; }
    public required string CodeLanguageLabel { get; init; }
    public required string CodeLabel { get; init; }
    public required string CodeAnswer { get; init; }

    public required string ExtractionSystem { get; init; }
    public required string ExtractionIntro { get; init; }
    public required string ExtractionFieldsHeading { get; init; }
    public required string ExtractionTextHeading { get; init; }
    public required string ExtractionRules { get; init; }
    public required string ExtractionSchemaIntro { get; init; }

    /// <summary>How a field type reads in this language: string, number, integer, boolean, date, array, object.</summary>
    public required IReadOnlyDictionary<string, string> FieldTypes { get; init; }
}
