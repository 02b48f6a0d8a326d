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

    /// <summary>Renders the template against the run input and the outputs of finished steps.</summary>
    public static JsonNode? Render(JsonElement template, JsonElement input, IReadOnlyDictionary<string, JsonElement?> stepOutputs) =>
        RenderElement(template, input, stepOutputs);

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

    private static JsonNode? RenderElement(JsonElement element, JsonElement input, IReadOnlyDictionary<string, JsonElement?> outputs)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                return RenderString(element.GetString()!, input, outputs);
            case JsonValueKind.Object:
                var obj = new JsonObject();
                foreach (var property in element.EnumerateObject())
                {
                    obj[property.Name] = RenderElement(property.Value, input, outputs);
                }

                return obj;
            case JsonValueKind.Array:
                var array = new JsonArray();
                foreach (var item in element.EnumerateArray())
                {
                    array.Add(RenderElement(item, input, outputs));
                }

                return array;
            default:
                return JsonNode.Parse(element.GetRawText());
        }
    }

    private static JsonNode? RenderString(string text, JsonElement input, IReadOnlyDictionary<string, JsonElement?> outputs)
    {
        var matches = Placeholder().Matches(text);
        if (matches.Count == 0)
        {
            return JsonValue.Create(text);
        }

        if (matches.Count == 1 && matches[0].Value == text.Trim())
        {
            var value = Resolve(ToReference(matches[0]), input, outputs);
            return value is null ? null : JsonNode.Parse(value.Value.GetRawText());
        }

        return JsonValue.Create(Placeholder().Replace(text, match =>
            Resolve(ToReference(match), input, outputs) switch
            {
                null => "",
                { ValueKind: JsonValueKind.String } s => s.GetString()!,
                { } other => other.GetRawText(),
            }));
    }

    private static Reference ToReference(Match match)
    {
        var parts = match.Groups[1].Value.Split('.');
        return new Reference(match.Value, parts[0], parts[1..]);
    }
}
