using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Orchestration.Api.Services;

/// <summary>
/// Step input templates: any JSON whose strings may hold <c>{{input.a.b}}</c> or
/// <c>{{steps.&lt;id&gt;.output.a.0}}</c>. A string that is exactly one placeholder becomes the referenced
/// JSON value; placeholders inside longer text are replaced by the value's text.
/// </summary>
public static partial class StepTemplates
{
    [GeneratedRegex(@"\{\{\s*([^{}\s]+)\s*\}\}")]
    private static partial Regex Placeholder();

    /// <summary>A placeholder's path, e.g. <c>steps.plan.output.title</c> → root <c>steps</c>, segments [plan, output, title].</summary>
    public sealed record Reference(string Text, string Root, IReadOnlyList<string> Segments);

    /// <summary>Every placeholder in the template (strings inside objects and arrays included).</summary>
    public static IEnumerable<Reference> References(JsonElement? template)
    {
        if (template is not { } root)
        {
            yield break;
        }

        var pending = new Stack<JsonElement>();
        pending.Push(root);
        while (pending.Count > 0)
        {
            var element = pending.Pop();
            switch (element.ValueKind)
            {
                case JsonValueKind.String:
                    foreach (Match match in Placeholder().Matches(element.GetString()!))
                    {
                        var parts = match.Groups[1].Value.Split('.');
                        yield return new Reference(match.Value, parts[0], parts[1..]);
                    }

                    break;
                case JsonValueKind.Object:
                    foreach (var property in element.EnumerateObject())
                    {
                        pending.Push(property.Value);
                    }

                    break;
                case JsonValueKind.Array:
                    foreach (var item in element.EnumerateArray())
                    {
                        pending.Push(item);
                    }

                    break;
            }
        }
    }

    /// <summary>
    /// Renders the template against the run input and the outputs of finished steps. Stops with
    /// <see cref="TemplateTooLargeException"/> as soon as the result would pass <paramref name="maxBytes"/>
    /// (so a template that repeats a large value never builds it).
    /// </summary>
    public static JsonNode? Render(JsonElement template, JsonElement input, IReadOnlyDictionary<string, JsonElement?> stepOutputs, long maxBytes = long.MaxValue) =>
        new Renderer(input, stepOutputs, maxBytes).Element(template);

    /// <summary>The bytes of literal text in a template (what every render costs at least).</summary>
    public static long LiteralSize(JsonElement? template) =>
        template is { } value ? Placeholder().Replace(value.GetRawText(), "").Length : 0;

    /// <summary>
    /// Keys under which a forEach item and its index are passed in the outputs dictionary to
    /// <see cref="Render"/> and <see cref="Resolve"/> (step ids cannot contain '$').
    /// </summary>
    public const string ItemKey = "$item";
    public const string ItemIndexKey = "$itemIndex";

    /// <summary>Finds the value a reference points at, or null when any part of the path is missing.</summary>
    public static JsonElement? Resolve(Reference reference, JsonElement input, IReadOnlyDictionary<string, JsonElement?> stepOutputs)
    {
        JsonElement? current;
        IEnumerable<string> rest;
        switch (reference.Root)
        {
            case "input":
                current = input;
                rest = reference.Segments;
                break;
            case "steps" when reference.Segments.Count >= 2 && reference.Segments[1] == "output":
                current = stepOutputs.GetValueOrDefault(reference.Segments[0]);
                rest = reference.Segments.Skip(2);
                break;
            case "item":
                current = stepOutputs.GetValueOrDefault(ItemKey);
                rest = reference.Segments;
                break;
            case "itemIndex" when reference.Segments.Count == 0:
                current = stepOutputs.GetValueOrDefault(ItemIndexKey);
                rest = [];
                break;
            default:
                return null;
        }

        foreach (var segment in rest)
        {
            current = current switch
            {
                { ValueKind: JsonValueKind.Object } obj when obj.TryGetProperty(segment, out var child) => child,
                { ValueKind: JsonValueKind.Array } array when int.TryParse(segment, out var index) && index >= 0 && index < array.GetArrayLength() => array[index],
                _ => null,
            };
            if (current is null)
            {
                return null;
            }
        }

        return current;
    }

    private sealed class Renderer(JsonElement input, IReadOnlyDictionary<string, JsonElement?> outputs, long maxBytes)
    {
        private long _size;

        public JsonNode? Element(JsonElement element)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.String:
                    return String(element.GetString()!);
                case JsonValueKind.Object:
                    var obj = new JsonObject();
                    foreach (var property in element.EnumerateObject())
                    {
                        Count(property.Name.Length + 4);
                        obj[property.Name] = Element(property.Value);
                    }

                    return obj;
                case JsonValueKind.Array:
                    var array = new JsonArray();
                    foreach (var item in element.EnumerateArray())
                    {
                        Count(1);
                        array.Add(Element(item));
                    }

                    return array;
                default:
                    Count(element.GetRawText().Length);
                    return JsonNode.Parse(element.GetRawText());
            }
        }

        private JsonNode? String(string text)
        {
            var matches = Placeholder().Matches(text);
            if (matches.Count == 0)
            {
                Count(text.Length + 2);
                return JsonValue.Create(text);
            }

            if (matches.Count == 1 && matches[0].Value == text.Trim())
            {
                var value = Resolve(ToReference(matches[0]), input, outputs);
                if (value is null)
                {
                    return null;
                }

                var raw = value.Value.GetRawText();
                Count(raw.Length);
                return JsonNode.Parse(raw);
            }

            Count(text.Length + 2);
            return JsonValue.Create(Placeholder().Replace(text, match =>
            {
                var part = Resolve(ToReference(match), input, outputs) switch
                {
                    null => "",
                    { ValueKind: JsonValueKind.String } s => s.GetString()!,
                    { } other => other.GetRawText(),
                };
                Count(part.Length);
                return part;
            }));
        }

        private void Count(long bytes)
        {
            _size += bytes;
            if (_size > maxBytes)
            {
                throw new TemplateTooLargeException();
            }
        }
    }

    private static Reference ToReference(Match match)
    {
        var parts = match.Groups[1].Value.Split('.');
        return new Reference(match.Value, parts[0], parts[1..]);
    }
}

/// <summary>A template rendered past the size it may have.</summary>
public sealed class TemplateTooLargeException() : Exception("The rendered template is over its size limit.");
