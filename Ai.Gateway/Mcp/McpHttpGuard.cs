using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;

namespace Ai.Gateway.Mcp;

/// <summary>
/// A POST body goes through <see cref="JsonBodyReader"/> first, like every other JSON body of the gateway: a charset
/// other than UTF-8 is 415, invalid UTF-8, duplicate keys and too deep nesting are 400 naming the field, before the
/// MCP transport reads it (it would fail on an unknown charset with a 500); params the transport itself cannot read
/// (a malformed <c>initialize</c>) are 400 too.
/// The MCP transport answers requests it refuses at the HTTP level (a missing <c>Accept</c>, a body that is not
/// JSON-RPC, an unsupported protocol version) with a JSON-RPC error body as <c>application/json</c>. Every other route
/// of the gateway answers a 4xx with problem details, so these become problem details too; the JSON-RPC members
/// (<c>jsonrpc</c>, <c>id</c>, <c>error</c>) stay in the document for MCP clients. Protocol answers (a stream, or a
/// JSON-RPC result or error inside one) pass through untouched.
/// </summary>
internal static class McpHttpGuard
{
    /// <summary>Wraps each endpoint that <c>MapMcp</c> maps.</summary>
    public static TBuilder GuardedLikeEveryRoute<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
    {
        builder.Add(endpoint =>
        {
            if (endpoint.RequestDelegate is { } inner)
            {
                endpoint.RequestDelegate = context => RunAsync(context, inner);
            }
        });
        return builder;
    }

    private static async Task RunAsync(HttpContext context, RequestDelegate inner)
    {
        if (HttpMethods.IsPost(context.Request.Method))
        {
            var body = await JsonBodyReader.ReadObjectAsync(context.Request, context.RequestAborted);
            if (!body.IsValid)
            {
                await body.Problem!.ToResult().ExecuteAsync(context);
                return;
            }

            var bytes = Encoding.UTF8.GetBytes(body.Value!.Value.GetRawText());
            context.Request.Body = new MemoryStream(bytes, writable: false);
            context.Request.ContentLength = bytes.Length;
            context.Request.ContentType = "application/json"; // the bytes are UTF-8 now, whatever the client called them
        }

        var original = context.Response.Body;
        var capture = new ErrorCapturingStream(context.Response, original);
        context.Response.Body = capture;
        try
        {
            await inner(context);
        }
        catch (JsonException e) when (!context.Response.HasStarted)
        {
            // The transport reads some params (initialize's) itself and lets a mismatch escape; it is the client's.
            context.Response.Body = original;
            var field = string.IsNullOrEmpty(e.Path) ? "params" : "params" + e.Path.TrimStart('$');
            await TypedResults.ValidationProblem(
                new Dictionary<string, string[]> { [field] = ["The value does not match the MCP schema of this method's params."] },
                detail: "The JSON-RPC request's params do not match the MCP schema.").ExecuteAsync(context);
            return;
        }
        finally
        {
            context.Response.Body = original;
        }

        if (capture.Captured is { } captured)
        {
            await WriteProblemAsync(context, captured.ToArray());
        }
    }

    private static Task WriteProblemAsync(HttpContext context, byte[] body)
    {
        var status = context.Response.StatusCode;
        var extensions = new Dictionary<string, object?>(StringComparer.Ordinal);
        string? detail = null;
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                foreach (var member in document.RootElement.EnumerateObject().Where(m => m.Name is "jsonrpc" or "id" or "error"))
                {
                    extensions[member.Name] = member.Value.Clone();
                }

                if (document.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object
                    && error.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String)
                {
                    detail = message.GetString();
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON-RPC: the status alone says what went wrong.
        }

        context.Response.Headers.ContentType = default;
        context.Response.Headers.ContentLength = default;
        var problem = new ProblemDetails { Status = status, Title = ReasonPhrases.GetReasonPhrase(status), Detail = detail };
        foreach (var (key, value) in extensions)
        {
            problem.Extensions[key] = value;
        }

        return TypedResults.Problem(problem).ExecuteAsync(context);
    }

    /// <summary>
    /// Decides at the first write (or flush): an error status with a body that is not a stream or problem details is
    /// held back; anything else goes straight through, so server-sent events are not buffered.
    /// </summary>
    private sealed class ErrorCapturingStream(HttpResponse response, Stream inner) : Stream
    {
        private bool _decided;

        public MemoryStream? Captured { get; private set; }

        private Stream Target
        {
            get
            {
                if (!_decided)
                {
                    _decided = true;
                    var mediaType = response.ContentType?.Split(';')[0].Trim();
                    if (response.StatusCode >= 400 && !response.HasStarted
                        && mediaType is null or "application/json")
                    {
                        Captured = new MemoryStream();
                    }
                }

                return (Stream?)Captured ?? inner;
            }
        }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Target.Write(buffer, offset, count);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Target.WriteAsync(buffer, offset, count, cancellationToken);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            Target.WriteAsync(buffer, cancellationToken);

        public override void Flush() => Target.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => Target.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
