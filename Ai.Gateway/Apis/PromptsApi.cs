using Ai.Gateway.Prompts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Ai.Gateway.Apis;

public static class PromptsApi
{
    public static IEndpointRouteBuilder MapPromptsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v1/prompts").WithTags("Prompts").RequireAuthorization(ApiRoles.Client);

        api.MapGet("/", ListPrompts)
            .WithName("ListPrompts")
            .WithSummary("The prompt formats (with their request schemas), the system presets and the languages");

        api.MapPost("/{format}/render", RenderPrompt)
            .WithName("RenderPrompt")
            .WithSummary("Render a prompt format in English or Arabic: system prompt, prompt and chat messages")
            .Accepts<object>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

        api.MapGet("/presets/{name}", GetPreset)
            .WithName("GetPromptPreset")
            .WithSummary("A system preset with its few-shot messages, in English or Arabic (?language=en|ar)")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);

        return app;
    }

    public static Ok<PromptCatalogResponse> ListPrompts(IPromptLibrary library) =>
        TypedResults.Ok(new PromptCatalogResponse(PromptLanguages.Codes, library.Formats, library.Presets));

    public static async Task<Results<Ok<RenderedPrompt>, ProblemHttpResult>> RenderPrompt(
        string format, HttpRequest request, [AsParameters] PromptsServices services, CancellationToken cancellationToken)
    {
        if (!services.Library.Formats.Any(f => f.Name == format))
        {
            return UnknownFormat(format);
        }

        var body = await JsonBodyReader.ReadObjectAsync(request, cancellationToken);
        if (!body.IsValid)
        {
            return body.Problem.ToResult();
        }

        var result = services.Library.Render(format, body.Value!.Value);
        return result.Status switch
        {
            PromptRenderStatus.Rendered => TypedResults.Ok(result.Prompt),
            PromptRenderStatus.UnknownFormat => UnknownFormat(format),
            _ => JsonBodies.WithErrors(StatusCodes.Status422UnprocessableEntity, "Invalid prompt request",
                $"The request does not fit the '{format}' format; GET /v1/prompts shows its request schema.", result.Errors),
        };
    }

    public static Results<Ok<PromptPreset>, ProblemHttpResult> GetPreset(string name, string? language, IPromptLibrary library)
    {
        if (!PromptLanguages.TryParse(language, out var parsed))
        {
            return JsonBodies.BadRequest($"language must be one of: {string.Join(", ", PromptLanguages.Codes)}.");
        }

        return library.GetPreset(name, parsed) is { } preset
            ? TypedResults.Ok(preset)
            : TypedResults.Problem($"There is no preset named '{name}'. GET /v1/prompts lists them.",
                statusCode: StatusCodes.Status404NotFound, title: "Unknown preset");
    }

    private static ProblemHttpResult UnknownFormat(string format) =>
        TypedResults.Problem($"There is no prompt format named '{format}'. GET /v1/prompts lists them.",
            statusCode: StatusCodes.Status404NotFound, title: "Unknown prompt format");
}

public sealed record PromptsServices(IPromptLibrary Library);

public sealed record PromptCatalogResponse(IReadOnlyList<string> Languages, IReadOnlyList<PromptFormatInfo> Formats, IReadOnlyList<PromptPresetInfo> Presets);
