using System.Text.Json;
using Ai.Gateway.Tools;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Ai.Gateway.Apis;

/// <summary>
/// Problems the gateway's routes answer besides the shared body reader's (<see cref="JsonBodyReader"/>, which
/// every JSON body goes through).
/// </summary>
internal static class JsonBodies
{
    public static ProblemHttpResult BadRequest(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status400BadRequest, title: "Malformed request");

    /// <summary>A problem with an <c>errors</c> list of <c>{ path, message }</c> (paths are JSON Pointers).</summary>
    public static ProblemHttpResult WithErrors(int statusCode, string title, string? detail, IReadOnlyList<SchemaError> errors) =>
        TypedResults.Problem(detail, statusCode: statusCode, title: title, extensions: new Dictionary<string, object?> { ["errors"] = errors });
}
