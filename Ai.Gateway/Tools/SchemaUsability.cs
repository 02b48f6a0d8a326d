using System.Globalization;
using System.Text.Json;

namespace Ai.Gateway.Tools;

/// <summary>
/// Whether a valid JSON Schema is one the gateway can ask a model to answer in. A schema is refused when
/// no finite value can match it (<c>false</c> as the schema or as a property's schema, a required property
/// whose schema leads back to itself), or when a <c>$ref</c> points nowhere in the schema or outside it
/// (the gateway never fetches schemas). Refused schemas are the caller's mistake: 400 with this reason.
/// </summary>
public static class SchemaUsability
{
    private static readonly string[] Branches = ["allOf", "anyOf", "oneOf"];
    private static readonly string[] Subschemas = ["additionalProperties", "items", "contains", "not", "if", "then", "else",
        "propertyNames", "unevaluatedItems", "unevaluatedProperties", "contentSchema"];
    private static readonly string[] SubschemaMaps = ["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"];
    private static readonly string[] SubschemaLists = ["allOf", "anyOf", "oneOf", "prefixItems"];

    /// <summary>Why the schema cannot be used, or null when it can.</summary>
    public static string? Problem(JsonElement schema)
    {
        var root = new Root(schema);
        return root.Scan(schema, "") ?? root.Instantiable(schema, "", []);
    }

    private sealed class Root(JsonElement schema)
    {
        private readonly Dictionary<string, JsonElement> _ids = Ids(schema);

        /// <summary>Every subschema: references that resolve, no <c>false</c> where a value is described.</summary>
        public string? Scan(JsonElement node, string path)
        {
            if (node.ValueKind == JsonValueKind.False && (path.Length == 0 || IsValuePosition(path)))
            {
                return path.Length == 0
                    ? "The schema 'false' accepts no value."
                    : $"The schema at {path} is 'false', which accepts no value; to forbid a property leave it out and set additionalProperties: false.";
            }

            if (node.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            if (node.TryGetProperty("$ref", out var reference) && reference.ValueKind == JsonValueKind.String)
            {
                if (Resolve(reference.GetString()!, path, out _) is { } error)
                {
                    return error;
                }
            }

            foreach (var keyword in Subschemas)
            {
                if (node.TryGetProperty(keyword, out var child) && Scan(child, $"{path}/{keyword}") is { } error)
                {
                    return error;
                }
            }

            foreach (var keyword in SubschemaMaps)
            {
                if (node.TryGetProperty(keyword, out var map) && map.ValueKind == JsonValueKind.Object)
                {
                    foreach (var entry in map.EnumerateObject())
                    {
                        if (Scan(entry.Value, $"{path}/{keyword}/{Escape(entry.Name)}") is { } error)
                        {
                            return error;
                        }
                    }
                }
            }

            foreach (var keyword in SubschemaLists)
            {
                if (node.TryGetProperty(keyword, out var list) && list.ValueKind == JsonValueKind.Array)
                {
                    var i = 0;
                    foreach (var item in list.EnumerateArray())
                    {
                        if (Scan(item, $"{path}/{keyword}/{i++}") is { } error)
                        {
                            return error;
                        }
                    }
                }
            }

            return null;
        }

        /// <summary>
        /// Follows what every matching value must hold (required properties, minimum items, allOf, one branch of
        /// anyOf/oneOf, references); a reference met again on that path means no finite value exists.
        /// </summary>
        public string? Instantiable(JsonElement node, string path, List<string> expanding)
        {
            if (node.ValueKind == JsonValueKind.False)
            {
                return $"The schema at {(path.Length == 0 ? "(root)" : path)} is 'false', which accepts no value.";
            }

            if (node.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            if (node.TryGetProperty("$ref", out var reference) && reference.ValueKind == JsonValueKind.String)
            {
                var text = reference.GetString()!;
                if (expanding.Contains(text))
                {
                    return $"The required value at {path} refers back to its schema ({text}) through required properties or items, so no finite value can match.";
                }

                if (Resolve(text, path, out var target) is { } error)
                {
                    return error;
                }

                if (Instantiable(target, path, [.. expanding, text]) is { } inner)
                {
                    return inner;
                }
            }

            foreach (var keyword in new[] { "allOf" })
            {
                if (node.TryGetProperty(keyword, out var all) && all.ValueKind == JsonValueKind.Array)
                {
                    foreach (var part in all.EnumerateArray())
                    {
                        if (Instantiable(part, path, expanding) is { } error)
                        {
                            return error;
                        }
                    }
                }
            }

            foreach (var keyword in Branches.Skip(1))
            {
                if (node.TryGetProperty(keyword, out var branches) && branches.ValueKind == JsonValueKind.Array && branches.GetArrayLength() > 0)
                {
                    var errors = branches.EnumerateArray().Select(b => Instantiable(b, path, expanding)).ToList();
                    if (errors.All(e => e is not null))
                    {
                        return errors[0];
                    }
                }
            }

            if (node.TryGetProperty("required", out var required) && required.ValueKind == JsonValueKind.Array)
            {
                node.TryGetProperty("properties", out var properties);
                foreach (var name in required.EnumerateArray().Where(n => n.ValueKind == JsonValueKind.String).Select(n => n.GetString()!))
                {
                    var propertyPath = $"{path}/properties/{Escape(name)}";
                    if (properties.ValueKind == JsonValueKind.Object && properties.TryGetProperty(name, out var property))
                    {
                        if (Instantiable(property, propertyPath, expanding) is { } error)
                        {
                            return error;
                        }
                    }
                    else if (node.TryGetProperty("additionalProperties", out var additional))
                    {
                        if (additional.ValueKind == JsonValueKind.False)
                        {
                            return $"The required property '{name}' at {(path.Length == 0 ? "(root)" : path)} is not among its properties and additionalProperties is false, so no value can match.";
                        }

                        if (Instantiable(additional, propertyPath, expanding) is { } error)
                        {
                            return error;
                        }
                    }
                }
            }

            if (node.TryGetProperty("minItems", out var minItems) && minItems.TryGetDecimal(out var count) && count > 0)
            {
                var prefix = node.TryGetProperty("prefixItems", out var p) && p.ValueKind == JsonValueKind.Array ? p.EnumerateArray().ToList() : [];
                for (var i = 0; i < Math.Min(prefix.Count, (int)Math.Min(count, 1000)); i++)
                {
                    if (Instantiable(prefix[i], $"{path}/prefixItems/{i}", expanding) is { } error)
                    {
                        return error;
                    }
                }

                if (count > prefix.Count && node.TryGetProperty("items", out var items) && Instantiable(items, $"{path}/items", expanding) is { } itemError)
                {
                    return itemError;
                }
            }

            return null;
        }

        private string? Resolve(string reference, string path, out JsonElement target)
        {
            target = default;
            var at = path.Length == 0 ? "(root)" : path;
            var (resource, fragment) = reference.IndexOf('#', StringComparison.Ordinal) is var hash and >= 0
                ? (reference[..hash], reference[(hash + 1)..])
                : (reference, "");

            JsonElement document;
            if (resource.Length == 0)
            {
                document = schema;
            }
            else if (!_ids.TryGetValue(resource, out document))
            {
                return $"The $ref '{reference}' at {at} points outside the schema; the gateway does not fetch schemas: put the definition under $defs and refer to it as '#/$defs/<name>'.";
            }

            if (fragment.Length == 0)
            {
                target = document;
                return null;
            }

            if (!fragment.StartsWith('/'))
            {
                // A named anchor: "#name" finds "$anchor": "name".
                return _ids.TryGetValue("#" + fragment, out target)
                    ? null
                    : $"The $ref '{reference}' at {at} points nowhere in the schema (no $anchor '{fragment}').";
            }

            var current = document;
            foreach (var raw in fragment[1..].Split('/'))
            {
                var segment = Uri.UnescapeDataString(raw).Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
                if (current.ValueKind == JsonValueKind.Object && current.TryGetProperty(segment, out var next))
                {
                    current = next;
                }
                else if (current.ValueKind == JsonValueKind.Array && int.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out var index)
                    && index < current.GetArrayLength())
                {
                    current = current[index];
                }
                else
                {
                    return $"The $ref '{reference}' at {at} points nowhere in the schema.";
                }
            }

            target = current;
            return null;
        }

        // Subschemas that stand for a value the answer may hold (a property, an item); 'false' elsewhere
        // (additionalProperties, items after prefixItems, not, unevaluated*) is a normal way to forbid.
        private static bool IsValuePosition(string path)
        {
            var parent = path[..path.LastIndexOf('/')];
            return parent.EndsWith("/properties", StringComparison.Ordinal) || parent.EndsWith("/prefixItems", StringComparison.Ordinal)
                || parent.EndsWith("/$defs", StringComparison.Ordinal) || parent.EndsWith("/definitions", StringComparison.Ordinal)
                || Branches.Any(b => parent.EndsWith("/" + b, StringComparison.Ordinal));
        }

        // $id values (absolute or relative, as written) and "#anchor" names, so references to them resolve.
        private static Dictionary<string, JsonElement> Ids(JsonElement schema)
        {
            var ids = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            void Walk(JsonElement node, int depth)
            {
                if (depth > 64)
                {
                    return;
                }

                if (node.ValueKind == JsonValueKind.Object)
                {
                    if (node.TryGetProperty("$id", out var id) && id.ValueKind == JsonValueKind.String)
                    {
                        ids.TryAdd(id.GetString()!.TrimEnd('#'), node);
                    }

                    if (node.TryGetProperty("$anchor", out var anchor) && anchor.ValueKind == JsonValueKind.String)
                    {
                        ids.TryAdd("#" + anchor.GetString(), node);
                    }

                    foreach (var property in node.EnumerateObject())
                    {
                        if (property.Name is not ("const" or "enum" or "default" or "examples"))
                        {
                            Walk(property.Value, depth + 1);
                        }
                    }
                }
                else if (node.ValueKind == JsonValueKind.Array)
                {
                    foreach (var item in node.EnumerateArray())
                    {
                        Walk(item, depth + 1);
                    }
                }
            }

            Walk(schema, 0);
            return ids;
        }

        private static string Escape(string name) => name.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);
    }
}
