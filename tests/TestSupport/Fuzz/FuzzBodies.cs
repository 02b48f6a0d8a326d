using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TestSupport.Fuzz;

/// <summary>
/// Malformed JSON bodies made from a valid seed body: values of the wrong type, huge numbers, long strings, lone
/// surrogate escapes, nulls in arrays, deep nesting, unknown and duplicate keys (structural mutations, so the body
/// still parses and reaches the handler's own checks), then sometimes broken bytes: truncation, invalid UTF-8,
/// stray tokens, or a different body altogether.
/// </summary>
public static class FuzzBodies
{
    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly string[] WrongTypes =
        ["0", "-1", "1.5", "true", "false", "null", "\"\"", "\" \"", "\"x\"", "[]", "{}", "[null]", "[[]]", "{\"\":null}", "[{}]", "\"0\"", "\"true\""];

    private static readonly string[] HugeNumbers =
    [
        "1e400", "-1e400", "1e-400", "123456789012345678901234567890", "9223372036854775808", "-9223372036854775809",
        "2147483648", "-2147483649", "4294967296", "1.7976931348623157e308", "-0", "0e0", "1E+2", "18446744073709551616",
        "0.30000000000000004", "3.4028235e39", "1" + new string('0', 400), "-0.0", "1e-7", "999999999999",
    ];

    private static readonly string[] HostileStrings =
    [
        "\"\\ud800\"", "\"\\udfff\"", "\"x\\ud800y\"", "\"\\ud800\\ud800\"", "\"\\udc00\\ud800\"", "\"\\ud83d\"", "\"\\u0000\"",
        "\"\\u001f\\u007f\"", "\"\\\\\"", "\"{{input.topic}}\"", "\"{{\"", "\"}}{{\"", "\"{{input.a.b.c.d}}\"", "\"{{steps.s1.output}}\"",
        "\"{{ input }}\"", "\"{{input.topic}}{{input.topic}}{{input.topic}}\"", "\"../../etc/passwd\"", "\"%00\"", "\"\u202e\u0645\u0631\u062d\u0628\u0627\"",
        "\"😀\"", "\"\\ud83d\\ude00\"", "\"\\n\\r\\t\"", "\"reply.x\"", "\"orchestration.results\"", "\"bus:x:dlq\"", "\"*\"",
        "\"$.a\"", "\"#/definitions/x\"", "\"http://127.0.0.1:6379/\"", "\"file:///etc/passwd\"", "\"auto\"", "\"none\"", "\"required\"",
        "\"<script>\"", "\"' OR 1=1 --\"", "\"0-0\"", "\"9999999999999-0\"", "\"NaN\"", "\"Infinity\"", "\"\\u00ff\"",
    ];

    private static readonly string[] InvalidUtf8 =
    [
        "FF", "FE", "C0 80", "C3", "80", "ED A0 80", "ED BF BF", "F4 90 80 80", "E0 80 80", "F0 9F 98", "F8 88 80 80 80", "C0 AF",
    ];

    private static readonly string[] StrayTokens = [",", "}", "]", ":", "\"", "\\", "/*x*/", "//x\n", "'", "NaN", "{", "[", ",,", "\u0000", " \t\n"];

    private static readonly string[] UnknownNames = ["unknown", "__proto__", "$type", "constructor", "", " ", "x", "ID", "Id", "STEPS", "a.b", "$ref"];

    /// <summary>A malformed (sometimes valid) body made from one of <paramref name="seeds"/>, with what was done to it.</summary>
    public static (byte[] Body, string What) Next(Random random, IReadOnlyList<string> seeds)
    {
        var roll = random.NextDouble();
        if (roll < 0.06)
        {
            return ReplacedBody(random);
        }

        var seed = seeds[random.Next(seeds.Count)];
        if (roll < 0.16)
        {
            return (Encoding.UTF8.GetBytes(seed), "seed as is");
        }

        var raws = new Dictionary<string, string>(StringComparer.Ordinal);
        var root = JsonNode.Parse(seed);
        var what = new List<string>();
        var mutations = 1 + random.Next(3);
        for (var i = 0; i < mutations && root is not null; i++)
        {
            what.Add(MutateTree(random, ref root, raws));
        }

        var text = root?.ToJsonString(Relaxed) ?? "null";
        foreach (var (placeholder, raw) in raws)
        {
            text = text.Replace($"\"{placeholder}\"", raw, StringComparison.Ordinal);
        }

        var bytes = Encoding.UTF8.GetBytes(text);
        if (random.NextDouble() < 0.3)
        {
            (bytes, var broken) = BreakBytes(random, bytes);
            what.Add(broken);
        }

        return (bytes, string.Join("; ", what));
    }

    /// <summary>A JSON object of plain fields, for a route that takes a body but has no seed of its own.</summary>
    public const string GenericSeed = """{"id":"x","name":"fuzz","input":{"a":1,"b":[1,"two",null],"c":{"d":true}},"items":[1,2,3],"enabled":true,"count":3}""";

    private static string MutateTree(Random random, ref JsonNode? root, Dictionary<string, string> raws)
    {
        var nodes = new List<JsonNode>();
        Collect(root!, nodes);
        var target = nodes[random.Next(nodes.Count)];
        var kind = random.Next(9);
        switch (kind)
        {
            case 0 or 1 or 2:
            {
                var raw = RawValue(random);
                Replace(ref root, target, Placeholder(raws, raw));
                return $"{PathOf(target)} = {Preview(raw)}";
            }

            case 3 when target is JsonObject { Count: > 0 } obj:
            {
                var name = obj.ElementAt(random.Next(obj.Count)).Key;
                var raw = random.NextDouble() < 0.5 ? obj[name]?.ToJsonString(Relaxed) ?? "null" : RawValue(random);
                var duplicate = Placeholder(raws, JsonSerializer.Serialize(name, Relaxed));
                obj[duplicate] = Placeholder(raws, raw);
                return $"duplicate key {PathOf(target)}.{name} = {Preview(raw)}";
            }

            case 4 when target is JsonObject obj:
            {
                var name = random.NextDouble() < 0.2 ? Placeholder(raws, "\"\\ud800\"") : UnknownNames[random.Next(UnknownNames.Length)];
                if (obj.ContainsKey(name))
                {
                    return "no-op";
                }

                obj[name] = Placeholder(raws, RawValue(random));
                return $"unknown key {PathOf(target)}.{name}";
            }

            case 5 when target.Parent is JsonObject parent:
            {
                var path = PathOf(target);
                parent.Remove(parent.First(p => ReferenceEquals(p.Value, target)).Key);
                return $"removed {path}";
            }

            case 6 when target is JsonArray array:
                array.Insert(random.Next(array.Count + 1), null);
                return $"null in {PathOf(target)}";

            case 7:
            {
                var raw = Nested(random, 20 + random.Next(random.NextDouble() < 0.5 ? 20 : 400));
                Replace(ref root, target, Placeholder(raws, raw));
                return $"{PathOf(target)} = nesting {raw.Length / 2}";
            }

            default:
            {
                var raw = LongString(random);
                Replace(ref root, target, Placeholder(raws, raw));
                return $"{PathOf(target)} = string of {raw.Length}";
            }
        }
    }

    private static string RawValue(Random random) => random.Next(5) switch
    {
        0 => WrongTypes[random.Next(WrongTypes.Length)],
        1 => HugeNumbers[random.Next(HugeNumbers.Length)],
        2 or 3 => HostileStrings[random.Next(HostileStrings.Length)],
        _ => random.Next(4) switch
        {
            0 => "[null,null]",
            1 => "[\"x\",null]",
            2 => "[1,null,{}]",
            _ => "{\"a\":null,\"b\":[null]}",
        },
    };

    private static string LongString(Random random)
    {
        var length = random.Next(4) switch { 0 => 1_000, 1 => 20_000, 2 => 120_000, _ => 600_000 };
        var unit = random.Next(3) switch { 0 => "a", 1 => "{{input.topic}}", _ => "ع😀" };
        var builder = new StringBuilder(length + 2).Append('"');
        while (builder.Length < length)
        {
            builder.Append(unit);
        }

        return builder.Append('"').ToString();
    }

    private static string Nested(Random random, int depth) => random.NextDouble() < 0.5
        ? new string('[', depth) + new string(']', depth)
        : string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);

    private static string Placeholder(Dictionary<string, string> raws, string raw)
    {
        var placeholder = string.Create(CultureInfo.InvariantCulture, $"__fuzzraw{raws.Count}__");
        raws[placeholder] = raw;
        return placeholder;
    }

    private static void Collect(JsonNode node, List<JsonNode> into)
    {
        into.Add(node);
        var children = node switch
        {
            JsonObject obj => obj.Select(p => p.Value),
            JsonArray array => array,
            _ => [],
        };
        foreach (var child in children)
        {
            if (child is not null)
            {
                Collect(child, into);
            }
        }
    }

    private static void Replace(ref JsonNode? root, JsonNode target, string placeholder)
    {
        JsonNode replacement = JsonValue.Create(placeholder);
        if (ReferenceEquals(target, root))
        {
            root = replacement;
        }
        else
        {
            target.ReplaceWith(replacement);
        }
    }

    private static string PathOf(JsonNode node) => node.GetPath();

    private static string Preview(string raw) => raw.Length <= 40 ? raw : raw[..40] + "…";

    private static (byte[] Bytes, string What) BreakBytes(Random random, byte[] bytes)
    {
        switch (random.Next(5))
        {
            case 0:
            {
                var at = random.Next(bytes.Length);
                return (bytes[..at], $"truncated at {at} of {bytes.Length}");
            }

            case 1:
            {
                var sequence = Convert.FromHexString(InvalidUtf8[random.Next(InvalidUtf8.Length)].Replace(" ", "", StringComparison.Ordinal));
                var quotes = Enumerable.Range(0, bytes.Length).Where(i => bytes[i] == (byte)'"').ToList();
                var at = quotes.Count > 0 ? quotes[random.Next(quotes.Count)] + 1 : random.Next(bytes.Length + 1);
                return ([.. bytes[..at], .. sequence, .. bytes[at..]], $"invalid UTF-8 {Convert.ToHexString(sequence)} at {at}");
            }

            case 2:
            {
                var at = random.Next(bytes.Length + 1);
                var token = StrayTokens[random.Next(StrayTokens.Length)];
                return ([.. bytes[..at], .. Encoding.UTF8.GetBytes(token), .. bytes[at..]], $"stray {JsonSerializer.Serialize(token)} at {at}");
            }

            case 3:
            {
                var copy = (byte[])bytes.Clone();
                var at = random.Next(copy.Length);
                copy[at] = (byte)random.Next(256);
                return (copy, $"byte {at} = {copy[at]:X2}");
            }

            default:
                return random.NextDouble() < 0.5
                    ? ([0xEF, 0xBB, 0xBF, .. bytes], "BOM first")
                    : ([.. bytes, .. Encoding.UTF8.GetBytes(random.NextDouble() < 0.5 ? " {}" : "x")], "trailing garbage");
        }
    }

    private static (byte[] Body, string What) ReplacedBody(Random random)
    {
        var pick = random.Next(16);
        return pick switch
        {
            0 => ([], "empty body"),
            1 => ("null"u8.ToArray(), "null body"),
            2 => ("[]"u8.ToArray(), "array body"),
            3 => ("[null]"u8.ToArray(), "[null] body"),
            4 => ("0"u8.ToArray(), "number body"),
            5 => ("\"x\""u8.ToArray(), "string body"),
            6 => ("{}"u8.ToArray(), "empty object"),
            7 => ("{"u8.ToArray(), "lone brace"),
            8 => (Encoding.UTF8.GetBytes(Nested(random, 40 + random.Next(2000))), "deep nesting"),
            9 => (RandomBytes(random, 1 + random.Next(2000)), "random bytes"),
            10 => (Encoding.UTF8.GetBytes("[" + string.Join(',', Enumerable.Repeat("1", 50_000 + random.Next(150_000))) + "]"), "huge array"),
            11 => (Encoding.UTF8.GetBytes("{\"a\":" + LongString(random) + "}"), "long string value"),
            12 => ("a=1&b=%ZZ&c"u8.ToArray(), "form body"),
            13 => (Encoding.Unicode.GetBytes("{\"input\":\"x\"}"), "UTF-16 body"),
            14 => (Encoding.UTF8.GetBytes("{" + string.Join(',', Enumerable.Range(0, 20_000).Select(i => $"\"k{i}\":{i}")) + "}"), "20,000 keys"),
            _ => (Encoding.UTF8.GetBytes("{\"a\":1,\"a\":2,\"a\":3}"), "duplicate keys at the top"),
        };
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
