using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Json.Pointer;
using Json.Schema;

namespace Ai.Gateway.Tools;

/// <summary>
/// A JSON Schema (2020-12, JsonSchema.Net) built once and used to validate many values; errors
/// carry JSON Pointer paths into the value. <c>format</c> is asserted, not just annotated.
/// </summary>
public sealed class JsonSchemaValidator
{
    private static readonly EvaluationOptions Evaluation = new()
    {
        OutputFormat = OutputFormat.List,
        RequireFormatValidation = true,
        Culture = System.Globalization.CultureInfo.InvariantCulture,
    };

    private readonly JsonSchema _schema;

    private JsonSchemaValidator(JsonElement json, JsonSchema schema)
    {
        Json = json;
        _schema = schema;
    }

    /// <summary>The schema as JSON, e.g. to publish it or hand it to a model.</summary>
    public JsonElement Json { get; }

    /// <exception cref="JsonSchemaException">The value is not a valid JSON Schema.</exception>
    public static JsonSchemaValidator Create(JsonElement json)
    {
        var copy = json.Clone();
        // Building registers the schema in a registry; a registry per schema keeps schemas sent in
        // requests from piling up in the global one and lets two schemas share an $id.
        return new JsonSchemaValidator(copy, JsonSchema.Build(copy, new BuildOptions { SchemaRegistry = new SchemaRegistry() }));
    }

    public static bool TryCreate(JsonElement json, [NotNullWhen(true)] out JsonSchemaValidator? validator, [NotNullWhen(false)] out string? error)
    {
        try
        {
            validator = Create(json);
            error = null;
            return true;
        }
        catch (Exception e) when (e is JsonSchemaException or JsonException or ArgumentException or InvalidOperationException)
        {
            validator = null;
            error = e.Message;
            return false;
        }
    }

    /// <summary>Every way <paramref name="instance"/> breaks the schema; empty when it is valid.</summary>
    public IReadOnlyList<SchemaError> Validate(JsonElement instance)
    {
        EvaluationResults results;
        try
        {
            results = _schema.Evaluate(instance, Evaluation);
        }
        catch (RefResolutionException e)
        {
            return [new SchemaError("", $"The schema cannot be applied: {e.Message}")];
        }

        if (results.IsValid)
        {
            return [];
        }

        var errors = new List<SchemaError>();
        foreach (var node in new[] { results }.Concat(results.Details ?? []))
        {
            foreach (var (keyword, message) in node.Errors ?? new Dictionary<string, string>())
            {
                var missing = keyword == "required" ? MissingProperties(node, instance, message) : [];
                if (missing.Count > 0)
                {
                    errors.AddRange(missing.Select(name => new SchemaError(Append(node.InstanceLocation, name), "Required property is missing.")));
                }
                else
                {
                    errors.Add(new SchemaError(node.InstanceLocation.ToString(), message));
                }
            }
        }

        return errors.Count > 0 ? errors.Distinct().ToList() : [new SchemaError("", "The value does not match the schema.")];
    }

    // The library reports missing properties at their parent object, listing them in its message
    // as a JSON array (Required properties ["a","b"] are not present); point at each property
    // instead. Only names the object really lacks count; if none can be read, the message stands.
    private static List<string> MissingProperties(EvaluationResults node, JsonElement instance, string message)
    {
        var (start, end) = (message.IndexOf('[', StringComparison.Ordinal), message.LastIndexOf(']'));
        if (start < 0 || end <= start || node.InstanceLocation.Evaluate(instance) is not { ValueKind: JsonValueKind.Object } target)
        {
            return [];
        }

        try
        {
            using var names = JsonDocument.Parse(message[start..(end + 1)]);
            return names.RootElement.EnumerateArray()
                .Where(name => name.ValueKind == JsonValueKind.String && !target.TryGetProperty(name.GetString()!, out _))
                .Select(name => name.GetString()!)
                .ToList();
        }
        catch (JsonException)
        {
            return [];
        }
    }

    private static string Append(JsonPointer pointer, string property) =>
        $"{pointer}/{property.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal)}";
}
