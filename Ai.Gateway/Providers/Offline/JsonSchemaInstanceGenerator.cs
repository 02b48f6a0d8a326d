using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Ai.Gateway.Providers.Offline;

/// <summary>
/// Builds a small instance that validates against a JSON Schema, so offline answers and offline
/// tool calls have the shape callers asked for. Covers type (and type arrays), object properties /
/// required / minProperties, arrays (items, prefixItems, minItems, uniqueItems, contains), enum, const,
/// strings (minLength, maxLength, common formats), numbers and integers (bounds, multipleOf), boolean,
/// null, anyOf / oneOf (first non-null branch), allOf (merged) and <c>$ref</c> into <c>$defs</c> /
/// <c>definitions</c>. Not covered: <c>pattern</c>, <c>not</c>, conditionals.
/// </summary>
public static class JsonSchemaInstanceGenerator
{
    private const int MaxDepth = 32;

    public static JsonNode? Generate(JsonElement schema) => Generate(JsonNode.Parse(schema.GetRawText()));

    public static JsonNode? Generate(JsonNode? schema) => new Generator(schema).Generate(schema, 0, 0);

    private sealed class Generator(JsonNode? root)
    {
        public JsonNode? Generate(JsonNode? schema, int depth, int variant)
        {
            if (depth > MaxDepth)
            {
                throw new InvalidOperationException("The schema nests (or recurses through $ref) too deeply to build an instance.");
            }

            switch (schema)
            {
                case null:
                    return null;
                case JsonValue value when value.GetValueKind() == JsonValueKind.True:
                    return null;
                case JsonValue value when value.GetValueKind() == JsonValueKind.False:
                    throw new InvalidOperationException("The schema 'false' accepts no instance.");
                case not JsonObject:
                    return null;
            }

            var node = (JsonObject)schema;
            if (node["$ref"]?.GetValue<string>() is { } reference)
            {
                var target = Resolve(reference);
                var siblings = Without(node, "$ref");
                return Generate(siblings.Count == 0 ? target : Merge(siblings, target), depth + 1, variant);
            }

            if (node.TryGetPropertyValue("const", out var constant))
            {
                return constant?.DeepClone();
            }

            if (node["enum"] is JsonArray { Count: > 0 } values)
            {
                return values[variant % values.Count]?.DeepClone();
            }

            if (node["allOf"] is JsonArray all)
            {
                var merged = Without(node, "allOf");
                foreach (var part in all)
                {
                    merged = Merge(merged, Deref(part, depth));
                }

                return Generate(merged, depth + 1, variant);
            }

            foreach (var keyword in new[] { "oneOf", "anyOf" })
            {
                if (node[keyword] is JsonArray { Count: > 0 } branches)
                {
                    // Prefer a branch that is not just null: the instance is more useful and still valid.
                    var branch = branches.FirstOrDefault(b => !IsNullOnly(Deref(b, depth))) ?? branches[0];
                    return Generate(Merge(Without(node, keyword), Deref(branch, depth)), depth + 1, variant);
                }
            }

            return PickType(node) switch
            {
                "object" => Object(node, depth, variant),
                "array" => Array(node, depth),
                "string" => String(node, variant),
                "integer" => Number(node, variant, integer: true),
                "number" => Number(node, variant, integer: false),
                "boolean" => JsonValue.Create(variant % 2 == 1),
                "null" => null,
                _ => new JsonObject(),
            };
        }

        private JsonObject Object(JsonObject node, int depth, int variant)
        {
            var result = new JsonObject();
            var properties = node["properties"] as JsonObject;
            var additional = node["additionalProperties"];
            foreach (var name in (node["required"] as JsonArray ?? []).Select(n => n?.GetValue<string>()).OfType<string>())
            {
                if (!result.ContainsKey(name))
                {
                    var propertySchema = properties?[name] ?? (additional is JsonObject ? additional : null);
                    result[name] = Generate(propertySchema, depth + 1, variant);
                }
            }

            var minimum = Int(node, "minProperties") ?? 0;
            foreach (var (name, propertySchema) in properties ?? [])
            {
                if (result.Count >= minimum)
                {
                    break;
                }

                if (!result.ContainsKey(name))
                {
                    result[name] = Generate(propertySchema, depth + 1, variant);
                }
            }

            var allowsMore = additional is not JsonValue flag || flag.GetValueKind() != JsonValueKind.False;
            for (var i = 0; allowsMore && result.Count < minimum; i++)
            {
                result.TryAdd($"property{i}", Generate(additional is JsonObject ? additional : null, depth + 1, i));
            }

            return result;
        }

        private JsonArray Array(JsonObject node, int depth)
        {
            var result = new JsonArray();
            var count = Int(node, "minItems") ?? 0;
            var contains = node["contains"];
            if (contains is not null)
            {
                count = Math.Max(count, Int(node, "minContains") ?? 1);
            }

            var prefix = node["prefixItems"] as JsonArray;
            // uniqueItems: vary each item so no two are equal.
            for (var i = 0; i < count; i++)
            {
                var itemSchema = prefix is not null && i < prefix.Count ? prefix[i] : node["items"];
                if (contains is not null)
                {
                    itemSchema = Deref(itemSchema, depth) is JsonObject items ? Merge(items, Deref(contains, depth)) : contains;
                }

                result.Add(Generate(itemSchema, depth + 1, i));
            }

            return result;
        }

        private static JsonValue String(JsonObject node, int variant)
        {
            var suffix = variant == 0 ? "" : variant.ToString(CultureInfo.InvariantCulture);
            var format = node["format"]?.GetValue<string>();
            var formatted = format switch
            {
                "date-time" => $"2000-01-01T00:00:{variant % 60:00}Z",
                "date" => $"2000-01-{variant % 28 + 1:00}",
                "time" => $"00:00:{variant % 60:00}Z",
                "duration" => $"PT{variant}S",
                "uuid" => $"00000000-0000-4000-8000-{variant:000000000000}",
                "email" or "idn-email" => $"offline{suffix}@example.com",
                "uri" or "iri" or "uri-reference" or "iri-reference" => $"https://example.com/{suffix}",
                "hostname" or "idn-hostname" => $"host{suffix}.example.com",
                "ipv4" => $"192.0.2.{variant % 256}",
                "ipv6" => $"2001:db8::{variant % 65536:x}",
                _ => null,
            };
            if (formatted is not null)
            {
                return JsonValue.Create(formatted);
            }

            var text = "offline" + suffix;
            var min = Int(node, "minLength") ?? 0;
            var max = Int(node, "maxLength");
            if (text.Length < min)
            {
                text = text.PadRight(min, 'x');
            }

            if (max is { } limit && text.Length > limit)
            {
                // Keep the variant digits at the end so short unique strings stay distinct.
                text = limit >= suffix.Length ? text[..(limit - suffix.Length)] + suffix : text[..limit];
            }

            return JsonValue.Create(text);
        }

        private static JsonValue Number(JsonObject node, int variant, bool integer)
        {
            var (lower, lowerExclusive) = Bound(node, "minimum", "exclusiveMinimum", lowest: true);
            var (upper, upperExclusive) = Bound(node, "maximum", "exclusiveMaximum", lowest: false);
            bool Fits(decimal v) =>
                (lower is not { } lo || (lowerExclusive ? v > lo : v >= lo)) && (upper is not { } hi || (upperExclusive ? v < hi : v <= hi));

            var unit = Decimal(node, "multipleOf") ?? (integer ? 1m : null);
            decimal value;
            if (Fits(0))
            {
                value = 0;
            }
            else if (unit is { } u && u > 0)
            {
                // The first multiple inside the range, from whichever side the range lies.
                var k = lower is { } lo ? Math.Ceiling(lo / u) : Math.Floor(upper!.Value / u);
                var direction = lower is not null ? 1 : -1;
                value = Fits(k * u) ? k * u : (k + direction) * u;
            }
            else if (lower is { } lo)
            {
                value = !lowerExclusive ? lo : upper is { } hi ? (lo + hi) / 2 : lo + 1;
            }
            else
            {
                value = !upperExclusive ? upper!.Value : upper!.Value - 1;
            }

            var varied = value + variant * (unit ?? 1);
            if (Fits(varied))
            {
                value = varied;
            }

            return integer ? JsonValue.Create((long)Math.Ceiling(value)) : JsonValue.Create(value);
        }

        private JsonNode? Resolve(string reference)
        {
            if (!reference.StartsWith('#'))
            {
                throw new InvalidOperationException($"Only local references are supported, not '{reference}'.");
            }

            JsonNode? current = root;
            foreach (var raw in reference[1..].Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                var segment = Uri.UnescapeDataString(raw).Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
                current = current switch
                {
                    JsonObject o => o[segment],
                    JsonArray a when int.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out var index) && index < a.Count => a[index],
                    _ => null,
                } ?? throw new InvalidOperationException($"The reference '{reference}' points nowhere.");
            }

            return current;
        }

        private JsonNode? Deref(JsonNode? schema, int depth)
        {
            for (var hops = 0; schema is JsonObject o && o["$ref"]?.GetValue<string>() is { } reference && Without(o, "$ref").Count == 0; hops++)
            {
                if (hops + depth > MaxDepth)
                {
                    throw new InvalidOperationException("The schema's references form a loop.");
                }

                schema = Resolve(reference);
            }

            return schema;
        }

        private static bool IsNullOnly(JsonNode? schema) =>
            schema is JsonObject o && o["type"] is JsonValue t && t.GetValueKind() == JsonValueKind.String && t.GetValue<string>() == "null";

        private static string? PickType(JsonObject node)
        {
            switch (node["type"])
            {
                case JsonValue single when single.GetValueKind() == JsonValueKind.String:
                    return single.GetValue<string>();
                case JsonArray many:
                    var names = many.Select(t => t?.GetValue<string>()).OfType<string>().ToList();
                    return names.FirstOrDefault(n => n != "null") ?? names.FirstOrDefault();
            }

            if (node.ContainsKey("properties") || node.ContainsKey("required") || node.ContainsKey("additionalProperties") || node.ContainsKey("minProperties"))
            {
                return "object";
            }

            if (node.ContainsKey("items") || node.ContainsKey("prefixItems") || node.ContainsKey("minItems") || node.ContainsKey("contains"))
            {
                return "array";
            }

            if (node.ContainsKey("minLength") || node.ContainsKey("maxLength") || node.ContainsKey("format") || node.ContainsKey("pattern"))
            {
                return "string";
            }

            return node.ContainsKey("minimum") || node.ContainsKey("maximum") || node.ContainsKey("multipleOf")
                   || node.ContainsKey("exclusiveMinimum") || node.ContainsKey("exclusiveMaximum")
                ? "number"
                : null;
        }

        // Combines two schemas that must both hold: properties and required are united, bounds tightened,
        // types intersected; for anything else the first schema wins.
        private static JsonObject Merge(JsonObject first, JsonNode? second)
        {
            var merged = (JsonObject)first.DeepClone();
            if (second is not JsonObject other)
            {
                return merged;
            }

            foreach (var (key, value) in other)
            {
                var existing = merged[key];
                if (existing is null)
                {
                    merged[key] = value?.DeepClone();
                    continue;
                }

                switch (key)
                {
                    case "properties" when existing is JsonObject mine && value is JsonObject theirs:
                        foreach (var (name, schema) in theirs)
                        {
                            mine[name] = mine[name] is { } current
                                ? new JsonObject { ["allOf"] = new JsonArray(current.DeepClone(), schema?.DeepClone()) }
                                : schema?.DeepClone();
                        }

                        break;
                    case "required" when existing is JsonArray mine && value is JsonArray theirs:
                        foreach (var name in theirs.Select(n => n?.GetValue<string>()).OfType<string>())
                        {
                            if (!mine.Any(n => n?.GetValue<string>() == name))
                            {
                                mine.Add(name);
                            }
                        }

                        break;
                    case "type":
                        var both = Types(existing).Intersect(Types(value)).ToList();
                        if (both.Count > 0)
                        {
                            merged[key] = new JsonArray(both.Select(t => (JsonNode?)JsonValue.Create(t)).ToArray());
                        }

                        break;
                    case "minimum" or "exclusiveMinimum" or "minLength" or "minItems" or "minProperties"
                        when AsNumber(existing) is { } a && AsNumber(value) is { } b:
                        merged[key] = JsonValue.Create(Math.Max(a, b));
                        break;
                    case "maximum" or "exclusiveMaximum" or "maxLength" or "maxItems" or "maxProperties"
                        when AsNumber(existing) is { } a && AsNumber(value) is { } b:
                        merged[key] = JsonValue.Create(Math.Min(a, b));
                        break;
                }
            }

            return merged;
        }

        private static IEnumerable<string> Types(JsonNode? type) => type switch
        {
            JsonArray many => many.Select(t => t?.GetValue<string>()).OfType<string>(),
            JsonValue one when one.GetValueKind() == JsonValueKind.String => [one.GetValue<string>()],
            _ => [],
        };

        private static JsonObject Without(JsonObject node, string keyword)
        {
            var copy = new JsonObject();
            foreach (var (key, value) in node)
            {
                if (key != keyword)
                {
                    copy[key] = value?.DeepClone();
                }
            }

            return copy;
        }

        private static int? Int(JsonObject node, string name) => Decimal(node, name) is { } d ? (int)Math.Min(d, 1000) : null;

        private static decimal? Decimal(JsonObject node, string name) => AsNumber(node[name]);

        private static decimal? AsNumber(JsonNode? node) =>
            node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<decimal>(out var d) ? d : null;

        // Draft 2020: exclusiveMinimum is a number. Draft 4: a boolean that makes "minimum" exclusive.
        private static (decimal? Value, bool Exclusive) Bound(JsonObject node, string inclusive, string exclusive, bool lowest)
        {
            var bound = Decimal(node, inclusive);
            if (node[exclusive] is JsonValue flag && flag.GetValueKind() == JsonValueKind.True)
            {
                return (bound, bound is not null);
            }

            if (Decimal(node, exclusive) is { } strict && (bound is null || (lowest ? strict >= bound : strict <= bound)))
            {
                return (strict, true);
            }

            return (bound, false);
        }
    }
}
