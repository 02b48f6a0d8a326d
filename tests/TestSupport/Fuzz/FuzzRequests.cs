using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Routing.Patterns;

namespace TestSupport.Fuzz;

/// <summary>One generated request: everything needed to send it again, and a one-line description.</summary>
public sealed record FuzzRequest(int Case, FuzzRoute Route, string Method, string PathAndQuery, IReadOnlyList<KeyValuePair<string, string>> Headers,
    string? ContentType, byte[]? Body, bool Chunked, string What)
{
    public override string ToString()
    {
        var headers = string.Join(" ", Headers.Select(h => $"{h.Key}: {Preview(h.Value, 60)}"));
        var body = Body is null ? "no body" : $"{Body.Length} bytes{(Chunked ? " chunked" : "")} {Preview(Encoding.UTF8.GetString(Body), 160)}";
        return $"case {Case}: {Method} {Preview(PathAndQuery, 200)} [{headers}] Content-Type: {ContentType ?? "(none)"}; {body} ({What})";
    }

    internal static string Preview(string text, int max) =>
        (text.Length <= max ? text : text[..max] + $"…(+{text.Length - max})").ReplaceLineEndings("⏎");
}

/// <summary>What a fuzz run knows about the app: the valid key, real ids for route values, seed bodies per route.</summary>
public sealed class FuzzTarget
{
    public required string ApiKey { get; init; }

    public required IReadOnlyList<FuzzRoute> Routes { get; init; }

    /// <summary>Valid JSON bodies per <see cref="FuzzRoute.Key"/> (<c>"POST /api/agents"</c>) that mutations start from.</summary>
    public IReadOnlyDictionary<string, string[]> SeedBodies { get; init; } = new Dictionary<string, string[]>();

    /// <summary>Values that exist (a stored workflow id, a run id) for a route parameter, so requests get past the 404s.</summary>
    public Func<FuzzRoute, string, IReadOnlyList<string>> KnownValues { get; init; } = (_, _) => [];

    /// <summary>
    /// Headers a route needs to get past its first check (MCP's <c>Accept: application/json, text/event-stream</c>),
    /// sent before the fuzzed ones so those can still add to or contradict them.
    /// </summary>
    public Func<FuzzRoute, IReadOnlyList<KeyValuePair<string, string>>> RouteHeaders { get; init; } = _ => [];
}

/// <summary>Generates request <c>n</c> of a seeded run; the same seed and case number always give the same request.</summary>
public static class FuzzRequests
{
    private static readonly string[] OtherMethods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "FUZZ"];

    private static readonly string[] JunkSegments =
    [
        "%00", "%FF", "%2F", "%2e%2e", "..", ".", "%C0%AF", "%ED%A0%80", "%ZZ", "%", "%u0041", "%F0%9F%98%80", "%E2%80%AE",
        "a%20b", "-1", "0", "2147483648", "99999999999999999999", "1e3", "null", "undefined", "%7Bid%7D", "*", "~", "$", "%27%3B%20DROP",
        "%3Cscript%3E", "a:b", "a%7Cb", "a%5Cb", "%0D%0A", "%09", "%7F", "CON", "reply.x", "orchestration.results", "bus:x:dlq",
        "%7B%7Binput%7D%7D", "0-0", "1-1-1", "9999999999999-0", "%2B", "x;y=1", "%3F", "%23", "%C3%BF", "%D8%B9%D8%B1%D8%A8%D9%8A",
    ];

    private static readonly string[] QueryValues =
    [
        "1", "50", "0", "-1", "201", "2147483648", "-2147483649", "99999999999999999999", "abc", "", "%00", "%FF", "%ZZ", "1.5", "1e3",
        "true", "%20", "0-0", "1-1", "99999999999999-0", "RUNNING", "running", "SUCCEEDED", "FOO", "en", "ar", "zz", "active", "inactive",
        "%ED%A0%80", "%C0%80", "x%26y%3D1", "NaN", "0x10", "+1", "%2B1", "1,2", "[]", "%7B%7D", "null",
    ];

    private static readonly string[] ContentTypes =
    [
        "application/json; charset=utf-8", "application/json; charset=UTF8", "application/json; charset=klingon", "application/json; charset=utf-16",
        "application/json; charset=iso-8859-1", "application/json; charset=", "application/json; charset=\"\"", "application/json; charset=utf-8; charset=klingon",
        "application/json;;", "application/json; boundary=x", "application/problem+json", "application/vnd.api+json", "application/merge-patch+json",
        "text/json", "text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=----x",
        "multipart/form-data", "application/xml", "application/octet-stream", "*/*", "application/*", "application", "json", "",
        "APPLICATION/JSON", "application/json; x=" + new string('y', 5000), "application/json; charset=\"utf-8", "application/json; charset=unicode-1-1-utf-7",
    ];

    private static readonly string[] Accepts =
        ["application/xml", "text/event-stream", "*/*", "", "application/json;q=0", "junk", "text/html", "application/json, text/plain;q=0.5, */*;q=0.1", "a/b/c"];

    private static readonly string[] IfMatches = ["*", "\"1\"", "W/\"1\"", "\"0\"", "\"-1\"", "\"99999999999\"", "abc", "\"", "\"\"", ",,,", "\"1\", \"2\"", "W/"];

    private static readonly string[] EventIds = ["0", "0-0", "abc", "1-1-1", "99999999999999999999-0", "-1", "", "$", "+", "18446744073709551615-18446744073709551615"];

    private static readonly string[] Traceparents =
        ["00-xyz", "ff-00000000000000000000000000000000-0000000000000000-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", ""];

    /// <summary>Request <paramref name="index"/> of the run seeded by <paramref name="seed"/>.</summary>
    public static FuzzRequest Create(int seed, int index, FuzzTarget target, IReadOnlyList<FuzzRoute> weighted)
    {
        var random = new Random(unchecked((seed * 486_187_739) ^ (index * 1_000_003) ^ 0x5bd1e995));
        var route = weighted[index % weighted.Count];
        var what = new List<string>();

        var method = random.NextDouble() < 0.92 ? route.Method : OtherMethods[random.Next(OtherMethods.Length)];
        var path = Path(random, route, target, what);
        var query = Query(random, route, what);
        var headers = new List<KeyValuePair<string, string>>();
        Authenticate(random, target.ApiKey, headers, what);
        headers.AddRange(target.RouteHeaders(route));
        OtherHeaders(random, headers, what);

        string? contentType = null;
        byte[]? body = null;
        var chunked = false;
        if (route.TakesBody ? method is not ("GET" or "HEAD") : random.NextDouble() < 0.05 && method is not ("GET" or "HEAD"))
        {
            var seeds = target.SeedBodies.TryGetValue(route.Key, out var known) && known.Length > 0 ? known : [FuzzBodies.GenericSeed];
            (body, var mutated) = random.NextDouble() < 0.03 ? ([], "empty body") : FuzzBodies.Next(random, seeds);
            what.Add(mutated);
            contentType = random.NextDouble() < 0.72 ? "application/json" : random.NextDouble() < 0.08 ? null : ContentTypes[random.Next(ContentTypes.Length)];
            chunked = random.NextDouble() < 0.12 && body.Length <= HttpFuzzer.LargeBody;
        }

        return new FuzzRequest(index, route, method, path + query, headers, contentType, body, chunked, string.Join("; ", what.Where(w => w.Length > 0)));
    }

    private static string Path(Random random, FuzzRoute route, FuzzTarget target, List<string> what)
    {
        var segments = new List<string>();
        foreach (var segment in route.Pattern.PathSegments)
        {
            var text = new StringBuilder();
            foreach (var part in segment.Parts)
            {
                switch (part)
                {
                    case RoutePatternLiteralPart literal:
                        text.Append(literal.Content);
                        break;
                    case RoutePatternSeparatorPart separator:
                        text.Append(separator.Content);
                        break;
                    case RoutePatternParameterPart parameter:
                        text.Append(RouteValue(random, route, parameter, target, what));
                        break;
                }
            }

            segments.Add(text.ToString());
        }

        return "/" + string.Join('/', segments);
    }

    private static string RouteValue(Random random, FuzzRoute route, RoutePatternParameterPart parameter, FuzzTarget target, List<string> what)
    {
        var known = target.KnownValues(route, parameter.Name);
        var roll = random.NextDouble();
        if (roll < 0.55 && known.Count > 0)
        {
            return Uri.EscapeDataString(known[random.Next(known.Count)]);
        }

        if (roll < 0.65)
        {
            return random.Next(3) switch { 0 => "fuzz", 1 => "1", _ => "x-y_z.1" };
        }

        string value;
        if (random.NextDouble() < 0.12)
        {
            var length = random.Next(4) switch { 0 => 300, 1 => 2_000, 2 => 7_000, _ => 20_000 };
            value = new string((char)('a' + random.Next(26)), length);
            what.Add($"{{{parameter.Name}}} of {length} characters");
        }
        else
        {
            value = JunkSegments[random.Next(JunkSegments.Length)];
            what.Add($"{{{parameter.Name}}} = {value}");
        }

        return value;
    }

    private static string Query(Random random, FuzzRoute route, List<string> what)
    {
        if (random.NextDouble() < 0.45)
        {
            return "";
        }

        var pairs = new List<string>();
        foreach (var name in route.QueryNames)
        {
            if (random.NextDouble() < 0.6)
            {
                pairs.Add($"{name}={QueryValue(random)}");
                if (random.NextDouble() < 0.1)
                {
                    pairs.Add($"{name}={QueryValue(random)}");
                }
            }
        }

        switch (random.Next(10))
        {
            case 0:
                pairs.Add("unknown=" + QueryValue(random));
                break;
            case 1:
                pairs.Add(random.Next(4) switch { 0 => "=x", 1 => "&&&", 2 => "%ZZ=1", _ => "a[]=1" });
                break;
            case 2:
                pairs.Add("q=" + new string('q', random.Next(2) == 0 ? 1_000 : 9_000));
                break;
        }

        if (pairs.Count == 0)
        {
            return "";
        }

        var query = "?" + string.Join('&', pairs);
        what.Add("query " + FuzzRequest.Preview(query, 80));
        return query;
    }

    private static string QueryValue(Random random) =>
        random.NextDouble() < 0.05 ? new string('9', 400) : QueryValues[random.Next(QueryValues.Length)];

    private static void Authenticate(Random random, string key, List<KeyValuePair<string, string>> headers, List<string> what)
    {
        if (random.NextDouble() < 0.85)
        {
            headers.Add(random.NextDouble() < 0.5 ? new("X-Api-Key", key) : new("Authorization", "Bearer " + key));
            return;
        }

        var pick = random.Next(16);
        var (name, value) = pick switch
        {
            0 => ("", ""),
            1 => ("X-Api-Key", "wrong-key-0123456789abcdefgh"),
            2 => ("X-Api-Key", ""),
            3 => ("X-Api-Key", key + " "),
            4 => ("X-Api-Key", key.ToUpperInvariant()),
            5 => ("X-Api-Key", key + "ÿ"),
            6 => ("X-Api-Key", new string('k', 10_000)),
            7 => ("Authorization", "Bearer"),
            8 => ("Authorization", "Bearer "),
            9 => ("Authorization", "Bearer  " + key),
            10 => ("Authorization", "bearer " + key),
            11 => ("Authorization", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(key + ":"))),
            12 => ("Authorization", "Bearer " + key + ",x"),
            13 => ("Authorization", "Token " + key),
            14 => ("Authorization", "Bearer ÿÿ\t"),
            _ => ("Authorization", "Bearer " + new string('b', 5_000)),
        };
        if (name.Length > 0)
        {
            headers.Add(new(name, value));
        }

        if (random.NextDouble() < 0.2)
        {
            headers.Add(new("X-Api-Key", key)); // a valid key beside a wrong one
        }

        what.Add(name.Length == 0 ? "no key" : $"auth {name}: {FuzzRequest.Preview(value, 40)}");
    }

    private static void OtherHeaders(Random random, List<KeyValuePair<string, string>> headers, List<string> what)
    {
        if (random.NextDouble() > 0.3)
        {
            return;
        }

        for (var i = 1 + random.Next(2); i > 0; i--)
        {
            var header = random.Next(10) switch
            {
                0 => new KeyValuePair<string, string>("Idempotency-Key", random.Next(4) switch { 0 => "", 1 => new string('i', 500), 2 => "ÿ\tx", _ => "k" }),
                1 => new("If-Match", IfMatches[random.Next(IfMatches.Length)]),
                2 => new("If-None-Match", IfMatches[random.Next(IfMatches.Length)]),
                3 or 4 => new("Accept", Accepts[random.Next(Accepts.Length)]),
                5 => new("Last-Event-ID", EventIds[random.Next(EventIds.Length)]),
                6 => new("Content-Encoding", random.Next(2) == 0 ? "gzip" : "junk"),
                7 => new("traceparent", Traceparents[random.Next(Traceparents.Length)]),
                8 => new("Accept-Charset", "klingon"),
                _ => new("Range", "bytes=0-1"),
            };
            headers.Add(header);
            what.Add($"{header.Key}: {FuzzRequest.Preview(header.Value, 40)}");
        }
    }
}
