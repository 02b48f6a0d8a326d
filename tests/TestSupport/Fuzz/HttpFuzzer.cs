using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace TestSupport.Fuzz;

/// <summary>
/// Sends a seeded run of malformed requests to every route of a running service and records what breaks the
/// promise of issue 9: a 5xx, an exception or dropped connection on the client, no answer within
/// <see cref="RequestTimeout"/>, a 4xx that is not problem details, or a stack trace in a body.
/// </summary>
public static class HttpFuzzer
{
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Requests in flight at once (the service shares two cores with the test).</summary>
    private const int Parallelism = 4;

    /// <summary>Bodies this large may be over a service's limit: they go with a length, never chunked.</summary>
    internal const int LargeBody = 512 * 1024;

    public static async Task<FuzzReport> RunAsync(Uri baseAddress, FuzzTarget target, FuzzSettings settings, CancellationToken cancellationToken)
    {
        // Routes that take a body get three shares of the cases: that is where the parsing is.
        var weighted = target.Routes.SelectMany(r => Enumerable.Repeat(r, r.TakesBody ? 3 : 1)).ToList();
        var cases = settings.OnlyCase is { } only ? [only] : Enumerable.Range(0, settings.Cases).ToList();
        var report = new FuzzReport(settings, target.Routes);
        using var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            // Header values beyond ASCII go out as Latin-1 bytes, as a careless client would send them.
            RequestHeaderEncodingSelector = (_, _) => Encoding.Latin1,
            // A request that asks first (see ToMessage) waits for the server's answer even on a busy machine.
            Expect100ContinueTimeout = TimeSpan.FromSeconds(10),
        };
        using var client = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = Timeout.InfiniteTimeSpan };

        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(cases, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken }, async (index, ct) =>
        {
            var request = FuzzRequests.Create(settings.Seed, index, target, weighted);
            await SendAsync(client, request, report, ct);
        });
        report.Elapsed = clock.Elapsed;
        return report;
    }

    private static async Task SendAsync(HttpClient client, FuzzRequest fuzz, FuzzReport report, CancellationToken cancellationToken, bool askFirst = false)
    {
        using var message = ToMessage(client.BaseAddress!, fuzz, askFirst);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RequestTimeout);
        try
        {
            using var response = await client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var status = (int)response.StatusCode;
            var mediaType = response.Content.Headers.ContentType?.MediaType;
            // A stream (Server-Sent Events) may run until its run ends: its headers are the answer.
            var body = mediaType == "text/event-stream" ? "" : await response.Content.ReadAsStringAsync(timeout.Token);
            report.Record(fuzz, status);
            if (status >= 500)
            {
                report.Fail(fuzz, $"{status}", body);
            }
            else if (status >= 400 && fuzz.Method != "HEAD" && mediaType != "application/problem+json" && !IsRefusedBeforeTheApp(status, response, body)
                && AcceptsJson(fuzz))
            {
                report.Fail(fuzz, $"{status} not problem details ({mediaType ?? "no content type"})", body);
            }
            else if (body.Contains("   at ", StringComparison.Ordinal) && body.Contains("Exception", StringComparison.Ordinal))
            {
                report.Fail(fuzz, $"{status} with a stack trace", body);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            report.Record(fuzz, null);
            report.Fail(fuzz, $"no answer within {RequestTimeout.TotalSeconds} s", "");
        }
        catch (HttpRequestException ex) when (!askFirst && fuzz.Body is not null && !message.Headers.ExpectContinue.GetValueOrDefault()
            && ex.InnerException is IOException)
        {
            // The body could not be written: Kestrel may refuse a request's head (400) for a reason this client does not
            // predict and close the connection while the body is in flight. The same request, asking first
            // (100-continue), reads the server's answer, which is then judged like any other.
            await SendAsync(client, fuzz, report, cancellationToken, askFirst: true);
        }
        catch (HttpRequestException ex)
        {
            report.Record(fuzz, null);
            report.Fail(fuzz, $"client exception {ex.HttpRequestError}", ex.ToString());
        }
        catch (IOException ex)
        {
            report.Record(fuzz, null);
            report.Fail(fuzz, "connection dropped", ex.ToString());
        }
    }

    /// <summary>
    /// Kestrel answers a request it cannot parse (a request line or headers too long, bytes not allowed in a
    /// header) itself, with an empty body, before the app runs: no problem details are possible there.
    /// </summary>
    private static bool IsRefusedBeforeTheApp(int status, HttpResponseMessage response, string body) =>
        status is 400 or 414 or 431 && body.Length == 0 && response.Content.Headers.ContentType is null;

    /// <summary>
    /// A client whose Accept header rules JSON out may get a status code page as text (the problem details writer
    /// honours Accept); handlers' own problems are JSON regardless.
    /// </summary>
    private static bool AcceptsJson(FuzzRequest fuzz) =>
        fuzz.Headers.Where(h => h.Key == "Accept" && h.Value.Trim().Length > 0).Select(h => h.Value).ToList() is not { Count: > 0 } accepts
        || accepts.Any(a => a.Contains("json", StringComparison.Ordinal) || a.Contains("*/*", StringComparison.Ordinal) || a.Contains("application/*", StringComparison.Ordinal));

    private static HttpRequestMessage ToMessage(Uri baseAddress, FuzzRequest fuzz, bool askFirst)
    {
        // The path goes out exactly as generated: percent-escapes, dots and all.
        var uri = new Uri(baseAddress.GetLeftPart(UriPartial.Authority) + fuzz.PathAndQuery, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });
        var message = new HttpRequestMessage(new HttpMethod(fuzz.Method), uri);
        if (fuzz.Body is { } body)
        {
            message.Content = fuzz.Chunked ? new ChunkedContent(body) : new ByteArrayContent(body);
            // A body over the service's limit is refused with 413 before it is read; a request line over Kestrel's 8 KB
            // (414), a path with an encoded NUL and a header value that is not ASCII (400) are refused by Kestrel before
            // anything runs. Asking first (100-continue) lets the client read that answer instead of writing the body
            // into a connection the server is closing.
            message.Headers.ExpectContinue = askFirst || body.Length > LargeBody || fuzz.PathAndQuery.Length > 8 * 1024 - 100
                || fuzz.PathAndQuery.Contains("%00", StringComparison.Ordinal) || fuzz.Headers.Any(h => !System.Text.Ascii.IsValid(h.Value));
            if (fuzz.ContentType is { } contentType)
            {
                message.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            }
        }

        foreach (var (name, value) in fuzz.Headers)
        {
            if (!message.Headers.TryAddWithoutValidation(name, value))
            {
                message.Content?.Headers.TryAddWithoutValidation(name, value);
            }
        }

        return message;
    }

    /// <summary>A body without a length, so it goes out with <c>Transfer-Encoding: chunked</c>.</summary>
    private sealed class ChunkedContent(byte[] body) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(body).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }
}

/// <summary>What a fuzz run sent and which cases broke the promise, grouped by route and cause.</summary>
public sealed class FuzzReport(FuzzSettings settings, IReadOnlyList<FuzzRoute> routes)
{
    private readonly ConcurrentBag<(FuzzRequest Request, string Cause, string Body)> _failures = [];
    private readonly ConcurrentDictionary<int, int> _statuses = new();
    private readonly ConcurrentDictionary<string, int> _perRoute = new(StringComparer.Ordinal);

    public FuzzSettings Settings => settings;

    public TimeSpan Elapsed { get; internal set; }

    private int _sentCount;

    public int Sent => Volatile.Read(ref _sentCount);

    public int FailureCount => _failures.Count;

    /// <summary>Cases per route (every route must have had some).</summary>
    public IReadOnlyDictionary<string, int> PerRoute => _perRoute;

    internal void Record(FuzzRequest request, int? status)
    {
        Interlocked.Increment(ref _sentCount);
        if (status is { } code)
        {
            _statuses.AddOrUpdate(code, 1, (_, n) => n + 1);
        }

        _perRoute.AddOrUpdate(request.Route.Key, 1, (_, n) => n + 1);
    }

    internal void Fail(FuzzRequest request, string cause, string body) => _failures.Add((request, cause, body));

    /// <summary>One line: cases, seed, time, statuses.</summary>
    public string Summary()
    {
        var statuses = string.Join(", ", _statuses.OrderBy(s => s.Key).Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Key}×{s.Value}")));
        return string.Create(CultureInfo.InvariantCulture,
            $"{Sent} cases over {routes.Count} routes in {Elapsed.TotalSeconds:0.0} s (seed {settings.Seed}): {statuses}; {_failures.Count} failed");
    }

    /// <summary>The failures, one group per route and cause with its first case (lowest number) and how many more.</summary>
    public string Describe(string filter)
    {
        var text = new StringBuilder();
        text.AppendLine(Summary());
        text.AppendLine(CultureInfo.InvariantCulture, $"Replay: {settings.Replay(filter)}   (one case: add FUZZ_CASE=<n>)");
        foreach (var group in _failures.GroupBy(f => (f.Request.Route.Key, f.Cause)).OrderBy(g => g.Key.Key, StringComparer.Ordinal).ThenBy(g => g.Key.Cause, StringComparer.Ordinal))
        {
            var first = group.MinBy(f => f.Request.Case);
            text.AppendLine(CultureInfo.InvariantCulture, $"- {group.Key.Key}: {group.Key.Cause} ×{group.Count()}");
            text.AppendLine(CultureInfo.InvariantCulture, $"    {first.Request}");
            text.AppendLine(CultureInfo.InvariantCulture, $"    → {FuzzRequest.Preview(first.Body, 600)}");
        }

        return text.ToString();
    }
}
