using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// One pass over a body's bytes that finds what the JSON parser lets through or turns into a 500 later:
/// strings and property names that are not valid UTF-8 or hold a lone surrogate escape (<c>"\ud800"</c>),
/// duplicate keys, nesting over the limit — each reported at its field path, however deep, including inside
/// free-form values (run inputs, tool arguments) that no type describes.
/// </summary>
internal static class JsonBodyScanner
{
    /// <summary>At most this many errors are reported for one body.</summary>
    public const int MaxErrors = 20;

    public static void Scan(ReadOnlySpan<byte> json, int maxDepth, JsonBodyErrors errors)
    {
        // The reader's own limit sits one level deeper, so the scanner's message (naming the path) comes first.
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = maxDepth + 1 });
        var path = new JsonPathBuilder();
        var names = new Stack<HashSet<string>?>();
        try
        {
            while (reader.Read() && !errors.IsFull)
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                    case JsonTokenType.StartArray:
                        path.BeginValue();
                        if (reader.CurrentDepth >= maxDepth)
                        {
                            errors.Add(path.ToString(), $"The body is nested deeper than {maxDepth} levels.");
                            return;
                        }

                        names.Push(reader.TokenType == JsonTokenType.StartObject ? new HashSet<string>(StringComparer.Ordinal) : null);
                        path.Enter(isArray: reader.TokenType == JsonTokenType.StartArray);
                        break;

                    case JsonTokenType.EndObject:
                    case JsonTokenType.EndArray:
                        names.Pop();
                        path.Leave();
                        break;

                    case JsonTokenType.PropertyName:
                        path.SetProperty(null);
                        if (!TryReadText(ref reader, out var name))
                        {
                            // The name cannot be shown, so the error goes on the object that holds it.
                            errors.Add(path.ToString(), "A property name is not valid UTF-8 or holds a lone surrogate escape.");
                        }
                        else
                        {
                            path.SetProperty(name);
                            if (!names.Peek()!.Add(name))
                            {
                                errors.Add(path.ToString(), "This key is given more than once; send each key once.");
                            }
                        }

                        break;

                    case JsonTokenType.String:
                        path.BeginValue();
                        if (!TryReadText(ref reader, out _))
                        {
                            errors.Add(path.ToString(), "The text is not valid UTF-8 or holds a lone surrogate escape (e.g. \\ud800).");
                        }

                        break;

                    default:
                        path.BeginValue();
                        break;
                }
            }
        }
        catch (JsonException ex)
        {
            // A body that does not parse is wrong as a whole: "$", with where the parser stopped.
            errors.Add("$", $"The body is not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1}, in {path}).");
        }
    }

    /// <summary>
    /// The token's text when it is well-formed Unicode. Unescaped text is checked in place; escaped text is decoded,
    /// which the parser refuses (with <see cref="InvalidOperationException"/>, its one failure kind here) for invalid
    /// bytes and lone surrogates.
    /// </summary>
    private static bool TryReadText(ref Utf8JsonReader reader, out string text)
    {
        text = "";
        if (!reader.ValueIsEscaped)
        {
            if (!Utf8.IsValid(reader.ValueSpan))
            {
                return false;
            }

            if (reader.TokenType == JsonTokenType.PropertyName)
            {
                text = Encoding.UTF8.GetString(reader.ValueSpan);
            }

            return true;
        }

        try
        {
            text = reader.GetString() ?? "";
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}

/// <summary>The errors found in a body: field path → messages, bounded.</summary>
internal sealed class JsonBodyErrors
{
    public Dictionary<string, string[]> ByPath { get; } = new(StringComparer.Ordinal);

    public bool IsFull => ByPath.Count >= JsonBodyScanner.MaxErrors;

    public bool Any => ByPath.Count > 0;

    public void Add(string path, string message)
    {
        if (ByPath.TryGetValue(path, out var messages))
        {
            if (!messages.Contains(message, StringComparer.Ordinal))
            {
                ByPath[path] = [.. messages, message];
            }
        }
        else if (!IsFull)
        {
            ByPath[path] = [message];
        }
    }
}

/// <summary>
/// The path of the token being read, written like System.Text.Json's <c>JsonException.Path</c> without the
/// leading <c>$.</c>: <c>steps[0].input.topic</c>, <c>metadata['a.b']</c>; the root is <c>$</c>.
/// </summary>
internal sealed class JsonPathBuilder
{
    private readonly List<Frame> _frames = [];

    /// <summary>Called on every value: inside an array it moves to the next index.</summary>
    public void BeginValue()
    {
        if (_frames.Count > 0 && _frames[^1].IsArray)
        {
            var frame = _frames[^1];
            _frames[^1] = frame with { Index = frame.Index + 1 };
        }
    }

    public void Enter(bool isArray) => _frames.Add(new Frame(isArray, -1, null));

    public void Leave() => _frames.RemoveAt(_frames.Count - 1);

    public void SetProperty(string? name) => _frames[^1] = _frames[^1] with { Property = name };

    public override string ToString()
    {
        var text = new StringBuilder();
        foreach (var frame in _frames)
        {
            if (frame.IsArray)
            {
                if (frame.Index >= 0)
                {
                    text.Append('[').Append(frame.Index.ToString(CultureInfo.InvariantCulture)).Append(']');
                }
            }
            else if (frame.Property is { } name)
            {
                AppendProperty(text, name);
            }
            else
            {
                break;
            }
        }

        return text.Length == 0 ? "$" : text.ToString();
    }

    public static void AppendProperty(StringBuilder text, string name)
    {
        if (name.Length > 0 && name.All(c => char.IsLetterOrDigit(c) || c is '_' or '-' or '$'))
        {
            if (text.Length > 0)
            {
                text.Append('.');
            }

            text.Append(name);
        }
        else
        {
            text.Append("['").Append(name.Replace("'", "\\'", StringComparison.Ordinal)).Append("']");
        }
    }

    private readonly record struct Frame(bool IsArray, int Index, string? Property);
}
