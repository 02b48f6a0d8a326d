using System.Text.Json.Serialization;
using Ai.Gateway.Generation;
using Ai.Gateway.Policy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.WebUtilities;

namespace Ai.Gateway.OpenAICompat;

/// <summary>OpenAI's error object: <c>{ "message", "type", "param", "code" }</c>.</summary>
public sealed record OpenAIError(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("param")] string? Param,
    [property: JsonPropertyName("code")] string? Code);

/// <summary>A streamed failure: the event OpenAI sends when a stream breaks after it started.</summary>
public sealed record OpenAIErrorEvent([property: JsonPropertyName("error")] OpenAIError Error);

/// <summary>One thing wrong with a request: OpenAI's <c>param</c> (the field's path), a message and a code.</summary>
public sealed record FieldError(string Param, string Message, string Code = OpenAIErrors.InvalidValue);

/// <summary>The request is invalid; nothing reached a provider.</summary>
public sealed class ChatRequestException(IReadOnlyList<FieldError> errors)
    : Exception("The request is invalid: " + string.Join("; ", errors.Select(e => $"{e.Param}: {e.Message}")))
{
    public IReadOnlyList<FieldError> Errors { get; } = errors;
}

/// <summary>
/// Errors of <c>POST /v1/chat/completions</c>: RFC 7807 problem details like every gateway error, each
/// also carrying OpenAI's <c>error</c> object, so OpenAI SDKs show its message (as
/// <c>ClientResultException</c> with the HTTP status) and problem-details clients read title and status.
/// </summary>
public static class OpenAIErrors
{
    public const string Route = "/v1/chat/completions";

    /// <summary>The OpenAI-shaped routes whose problems carry OpenAI's <c>error</c> object.</summary>
    private static readonly string[] Routes = [Route, "/v1/models", EmbeddingsRoute];

    public const string EmbeddingsRoute = "/v1/embeddings";
    public const string Key = "error";

    public const string InvalidValue = "invalid_value";
    public const string MissingParameter = "missing_required_parameter";
    public const string UnsupportedParameter = "unsupported_parameter";
    public const string UnsupportedValue = "unsupported_value";
    public const string ModelNotFound = "model_not_found";

    /// <summary>A catalog model of the other kind: an embedding model on a chat route, or a chat model on <c>/v1/embeddings</c> (400).</summary>
    public const string WrongModelKind = "model_not_supported";

    /// <summary>400 naming the first offending field in <c>error.param</c>, every field in <c>errors</c>.</summary>
    /// <remarks>An unknown model is 404 <c>model_not_found</c>, as OpenAI answers it, whatever else is wrong.</remarks>
    public static ProblemHttpResult Invalid(IReadOnlyList<FieldError> errors)
    {
        var notFound = errors.FirstOrDefault(e => e.Code == ModelNotFound);
        var first = notFound ?? errors[0];
        var status = notFound is null ? StatusCodes.Status400BadRequest : StatusCodes.Status404NotFound;
        return TypedResults.Problem(
            statusCode: status,
            title: notFound is null ? "The request is invalid" : "The model does not exist",
            detail: first.Message,
            extensions: new Dictionary<string, object?>
            {
                ["errors"] = errors.GroupBy(e => e.Param).ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray()),
                [Key] = new OpenAIError(first.Message, TypeFor(status), first.Param, first.Code),
            });
    }

    /// <summary>
    /// 404 with OpenAI's <c>model_not_found</c> (what OpenAI answers for a model that does not exist), naming the
    /// models there are.
    /// </summary>
    public static ProblemHttpResult ModelNotFoundProblem(string model, ModelCatalog catalog, string? param = "model")
    {
        var message = $"The model '{model}' does not exist. Use 'auto' or one of: {string.Join(", ", catalog.Models.Select(m => m.Id))}.";
        return TypedResults.Problem(
            statusCode: StatusCodes.Status404NotFound,
            title: "The model does not exist",
            detail: message,
            extensions: new Dictionary<string, object?> { [Key] = new OpenAIError(message, TypeFor(StatusCodes.Status404NotFound), param, ModelNotFound) });
    }

    /// <summary>A body that did not read (not JSON, wrong content type, unknown field, wrong type), never to be retried.</summary>
    public static ProblemHttpResult BadBody(JsonBodyProblem problem, HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(http);
        http.Response.Headers[GatewayProblems.ShouldRetryHeader] = "false";
        return problem.Errors.Count > 0
            ? Invalid(problem.Errors.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal))
            : Attach(problem.ToResult());
    }

    /// <summary>A request whose fields are wrong (nothing reached a provider), never to be retried.</summary>
    public static ProblemHttpResult Invalid(ChatRequestException invalid, HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(invalid);
        ArgumentNullException.ThrowIfNull(http);
        http.Response.Headers[GatewayProblems.ShouldRetryHeader] = "false";
        return Invalid(invalid.Errors);
    }

    /// <summary>Fields of a body that did not read (unknown field, wrong type) as a 400.</summary>
    public static ProblemHttpResult Invalid(Dictionary<string, string[]> errors) =>
        Invalid(errors.SelectMany(e => e.Value.Select(message => new FieldError(e.Key, $"{e.Key}: {message}"))).ToList());

    /// <summary>The problem for a gateway failure (429 with Retry-After, 422, 502, 504), or null when it is not one.</summary>
    public static ProblemHttpResult? ForFailure(Exception exception, HttpContext? http)
    {
        if (GatewayProblems.For(exception, http) is not ProblemHttpResult problem)
        {
            return null;
        }

        var code = exception switch
        {
            AllModelsFailedException { AllRateLimited: true } => "rate_limit_exceeded",
            AllModelsFailedException { ContentBlocked: true } => "content_filter",
            AllModelsFailedException => "upstream_error",
            InvalidModelOutputException => "invalid_model_output",
            GatewayTimeoutException => "timeout",
            Providers.ModelProviderException => "upstream_error",
            _ => null,
        };
        return Attach(problem, code: code);
    }

    /// <summary>The error event for a failure after a stream started.</summary>
    public static OpenAIError ForStreamFailure(Exception exception) =>
        ForFailure(exception, null)?.ProblemDetails.Extensions[Key] as OpenAIError
        ?? new OpenAIError("The stream failed.", TypeFor(StatusCodes.Status502BadGateway), null, "upstream_error");

    /// <summary>Adds the OpenAI error object to a problem made elsewhere (e.g. a body that is not JSON).</summary>
    public static ProblemHttpResult Attach(ProblemHttpResult problem, string? param = null, string? code = null)
    {
        var details = problem.ProblemDetails;
        details.Extensions[Key] = For(details.Status ?? problem.StatusCode, details.Detail ?? details.Title, param, code);
        return problem;
    }

    /// <summary>
    /// For <see cref="Microsoft.AspNetCore.Http.ProblemDetailsOptions.CustomizeProblemDetails"/>: problems the shared
    /// middleware writes on this route (401/403 from the API-key check, 413, unhandled errors) get the error object too.
    /// </summary>
    public static void AddTo(ProblemDetailsContext context)
    {
        if (!Routes.Any(route => context.HttpContext.Request.Path.StartsWithSegments(route, StringComparison.OrdinalIgnoreCase))
            || context.ProblemDetails.Extensions.ContainsKey(Key))
        {
            return;
        }

        var details = context.ProblemDetails;
        details.Extensions[Key] = For(details.Status ?? context.HttpContext.Response.StatusCode, details.Detail ?? details.Title);
    }

    private static OpenAIError For(int status, string? message, string? param = null, string? code = null) =>
        new(message ?? ReasonPhrases.GetReasonPhrase(status), TypeFor(status), param, code ?? CodeFor(status));

    // The types OpenAI's SDKs and docs use.
    private static string TypeFor(int status) => status switch
    {
        StatusCodes.Status401Unauthorized => "authentication_error",
        StatusCodes.Status403Forbidden => "permission_error",
        StatusCodes.Status404NotFound => "not_found_error",
        StatusCodes.Status429TooManyRequests => "rate_limit_error",
        >= 500 => "server_error",
        _ => "invalid_request_error",
    };

    private static string? CodeFor(int status) => status switch
    {
        StatusCodes.Status401Unauthorized => "invalid_api_key",
        StatusCodes.Status413PayloadTooLarge => "request_too_large",
        StatusCodes.Status415UnsupportedMediaType => "unsupported_media_type",
        StatusCodes.Status429TooManyRequests => "rate_limit_exceeded",
        StatusCodes.Status504GatewayTimeout => "timeout",
        _ => null,
    };
}
