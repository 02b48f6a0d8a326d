using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Reads request bodies strictly (unknown fields, wrong types, bad enum values and nulls for
/// non-nullable fields are errors) and reports the failing field's path, e.g. <c>steps[0].onFail</c>,
/// so a bad request gets a 400 that names the field.
/// </summary>
public static class StrictJson
{
    private static readonly Dictionary<JsonSerializerOptions, JsonSerializerOptions> Strict = [];
    private static readonly Lock StrictLock = new();

    public static bool TryRead<T>(JsonElement body, JsonSerializerOptions options, [NotNullWhen(true)] out T? value, out Dictionary<string, string[]> errors)
        where T : class
    {
        errors = [];
        value = null;
        if (body.ValueKind != JsonValueKind.Object)
        {
            errors["$"] = ["The body must be a JSON object."];
            return false;
        }

        try
        {
            value = body.Deserialize<T>(StrictVersionOf(options));
        }
        catch (JsonException ex)
        {
            var path = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "$" : ex.Path.TrimStart('$', '.');
            errors[path] = [Describe(ex)];
            return false;
        }

        if (value is null)
        {
            errors["$"] = ["The body must be a JSON object."];
        }

        return value is not null;
    }

    private static JsonSerializerOptions StrictVersionOf(JsonSerializerOptions options)
    {
        lock (StrictLock)
        {
            if (!Strict.TryGetValue(options, out var strict))
            {
                strict = new JsonSerializerOptions(options)
                {
                    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
                    RespectNullableAnnotations = true,
                };
                strict.MakeReadOnly(populateMissingResolver: true);
                Strict[options] = strict;
            }

            return strict;
        }
    }

    private static string Describe(JsonException ex) =>
        ex.Message.Contains("could not be mapped", StringComparison.Ordinal) ? "This field is not part of the contract."
        : ex.Message.Contains("null", StringComparison.OrdinalIgnoreCase) ? "This field may not be null."
        : "The value has the wrong type or is not one of the allowed values.";
}
