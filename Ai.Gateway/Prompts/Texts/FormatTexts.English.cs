namespace Ai.Gateway.Prompts.Texts;

internal sealed partial record FormatTexts
{
    public static readonly FormatTexts English = new()
    {
        JsonSystem = "You are a precise assistant that answers with valid JSON only.",
        JsonSchemaIntro = "Your answer must be valid JSON that matches this JSON Schema:",
        JsonExampleIntro = "Your answer must be JSON with the same structure as this example (the same keys and the same value types):",
        JsonAnyIntro = "Your answer must be a single valid JSON value.",
        JsonOnly = "Respond with JSON only: no explanations, no Markdown and no code fences.",

        ContextSystem = "You answer questions using only the documents you are given. When the documents do not contain the answer, you say so instead of guessing.",
        ContextDocumentsHeading = "Documents:",
        ContextQuestionLabel = "Question:",
        ContextInstructions = "Answer using only the documents above, and cite the documents you rely on by number, for example [1]. If the documents do not contain the answer, say that you do not know.",

        ExamplesSystem = "You complete tasks by following the pattern of the examples you are given: the same format, the same style and the same level of detail.",
        ExamplesIntro = "Here are examples of the expected input and output:",
        ExampleLabel = "Example",
        InputLabel = "Input:",
        OutputLabel = "Output:",
        ExamplesFinal = "Now give the output for this input, in the same format as the examples:",

        CodeSystem = "You are an expert software engineer. You write correct, idiomatic, secure and maintainable code, and you explain your choices briefly.",
        CodeTaskLabel = "Task:",
        CodeLanguageLabel = "Programming language:",
        CodeLabel = "Code:",
        CodeAnswer = "Answer with the complete code in a single fenced code block, followed by a brief explanation.",

        ExtractionSystem = "You extract structured data from text. You answer with JSON only and never invent values that the text does not state.",
        ExtractionIntro = "Extract the following fields from the text below.",
        ExtractionFieldsHeading = "Fields:",
        ExtractionTextHeading = "Text:",
        ExtractionRules = "Respond with JSON only: a single object with exactly these keys. Use null for any field that the text does not state.",
        ExtractionSchemaIntro = "The object must match this JSON Schema:",
        FieldTypes = new Dictionary<string, string>
        {
            ["string"] = "text",
            ["number"] = "number",
            ["integer"] = "whole number",
            ["boolean"] = "true or false",
            ["date"] = "date as YYYY-MM-DD",
            ["array"] = "list",
            ["object"] = "object",
        },
    };
}
