using System.Text.Json;
using Ai.Gateway.Tools;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Ai.Gateway.Apis;

/// <summary>Reads request bodies that must be JSON objects, and answers in problem details when they are not.</summary>
internal static class JsonBodies
{
    /// <summary>The body as a JSON object, or the problem (400, 415) to answer instead.</summary>
    public static async Task<(JsonElement Body, ProblemHttpResult? Problem)> ReadObjectAsync(
        HttpRequest request, ApiLimitsOptions limits, CancellationToken cancellationToken)
    {
        if (!request.HasJsonContentType())
        {
            return (default, TypedResults.Problem("Send the body as application/json.",
                statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type"));
        }

        try
        {
            using var document = await JsonDocument.ParseAsync(request.Body, new JsonDocumentOptions { MaxDepth = limits.MaxJsonDepth }, cancellationToken);
            return document.RootElement.ValueKind == JsonValueKind.Object
                ? (document.RootElement.Clone(), null)
                : (default, BadRequest($"The body must be a JSON object, not {document.RootElement.ValueKind.ToString().ToLowerInvariant()}."));
        }
        catch (JsonException e)
        {
            return (default, BadRequest($"The body is not valid JSON: {e.Message}"));
        }
    }

    public static ProblemHttpResult BadRequest(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status400BadRequest, title: "Malformed request");

    /// <summary>A problem with an <c>errors</c> list of <c>{ path, message }</c> (paths are JSON Pointers).</summary>
    public static ProblemHttpResult WithErrors(int statusCode, string title, string? detail, IReadOnlyList<SchemaError> errors) =>
        TypedResults.Problem(detail, statusCode: statusCode, title: title, extensions: new Dictionary<string, object?> { ["errors"] = errors });
}
