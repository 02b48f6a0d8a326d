using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;
using Orchestration.Api.Model;

namespace Orchestration.Api.Apis;

/// <summary>
/// Reads request bodies strictly (unknown fields, wrong types and bad enum values are errors) and
/// reports the failing field's path, e.g. <c>steps[0].onFail</c>.
/// </summary>
internal static class RequestJson
{
    private static readonly JsonSerializerOptions Strict = new(RunJson.Options)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        RespectNullableAnnotations = true,
    };

    public static bool TryRead<T>(JsonElement body, [NotNullWhen(true)] out T? value, out Dictionary<string, string[]> errors)
        where T : class
    {
        errors = [];
        if (body.ValueKind != JsonValueKind.Object)
        {
            value = null;
            errors["$"] = ["The body must be a JSON object."];
            return false;
        }

        try
        {
            value = body.Deserialize<T>(Strict);
            if (value is null)
            {
                errors["$"] = ["The body must be a JSON object."];
            }

            return value is not null;
        }
        catch (JsonException ex)
        {
            value = null;
            var path = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "$" : ex.Path.TrimStart('$', '.');
            errors[path] = [Describe(ex)];
            return false;
        }
    }

    private static string Describe(JsonException ex) =>
        ex.Message.Contains("could not be mapped", StringComparison.Ordinal) ? "This field is not part of the contract."
        : ex.Message.Contains("null", StringComparison.OrdinalIgnoreCase) ? "This field may not be null."
        : "The value has the wrong type or is not one of the allowed values.";
}
