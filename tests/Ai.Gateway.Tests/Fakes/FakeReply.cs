using System.Text;
using Microsoft.AspNetCore.Http;

namespace Ai.Gateway.Tests.Fakes;

/// <summary>
/// What a fake server does with one request. Build one with the factories here (or GeminiReplies /
/// OpenAIReplies), then queue it on a <see cref="ScriptedServer"/>.
/// </summary>
public sealed class FakeReply
{
    private readonly Func<HttpContext, RecordedRequest, Task> _write;

    private FakeReply(string description, Func<HttpContext, RecordedRequest, Task> write)
    {
        Description = description;
        _write = write;
    }

    public string Description { get; }

    /// <summary>A complete body with a status code and content type, plus optional headers.</summary>
    public static FakeReply Body(int status, string body, string contentType = "application/json", IReadOnlyDictionary<string, string>? headers = null) =>
        new($"{status} {contentType}", async (context, _) =>
        {
            context.Response.StatusCode = status;
            context.Response.ContentType = contentType;
            foreach (var (name, value) in headers ?? new Dictionary<string, string>())
            {
                context.Response.Headers[name] = value;
            }

            await context.Response.WriteAsync(body, context.RequestAborted);
        });

    public static FakeReply Json(string json, int status = 200, IReadOnlyDictionary<string, string>? headers = null) =>
        Body(status, json, "application/json", headers);

    /// <summary>
    /// A <c>text/event-stream</c>: each item becomes <c>data: item</c> and a blank line, using
    /// <paramref name="newline"/> as the line end, flushed one event at a time. With
    /// <paramref name="thenStall"/> the stream stays open afterwards until the client gives up.
    /// </summary>
    public static FakeReply Sse(IEnumerable<string> events, string newline = "\n", bool thenStall = false) =>
        new($"SSE ({(newline == "\r\n" ? "CRLF" : "LF")}{(thenStall ? ", then stall" : "")})", async (context, _) =>
        {
            context.Response.StatusCode = 200;
            context.Response.ContentType = "text/event-stream";
            foreach (var data in events)
            {
                await context.Response.WriteAsync($"data: {data}{newline}{newline}", Encoding.UTF8, context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }

            if (thenStall)
            {
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            }
        });

    /// <summary>Never answers: waits until the client aborts (a timeout or a cancellation).</summary>
    public static FakeReply Stall() =>
        new("stall", (context, _) => Task.Delay(Timeout.Infinite, context.RequestAborted));

    /// <summary>Drops the connection without an answer (a network failure from the client's side).</summary>
    public static FakeReply Abort() =>
        new("abort connection", (context, _) =>
        {
            context.Abort();
            return Task.CompletedTask;
        });

    /// <summary>Anything else: write the response yourself.</summary>
    public static FakeReply Custom(string description, Func<HttpContext, RecordedRequest, Task> write) => new(description, write);

    /// <summary>The same reply after a real delay: simulated latency for benchmarks and timeout tests.</summary>
    public FakeReply After(TimeSpan delay) =>
        new($"{Description} after {delay}", async (context, request) =>
        {
            await Task.Delay(delay, context.RequestAborted);
            await _write(context, request);
        });

    /// <summary>The same reply once <paramref name="gate"/> completes: lets a test decide when the answer goes out.</summary>
    public FakeReply When(Task gate) =>
        new($"{Description} when released", async (context, request) =>
        {
            await gate.WaitAsync(context.RequestAborted);
            await _write(context, request);
        });

    internal Task WriteAsync(HttpContext context, RecordedRequest request) => _write(context, request);

    public override string ToString() => Description;
}
