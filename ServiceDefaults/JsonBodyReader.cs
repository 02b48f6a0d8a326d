using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Net.Http.Headers;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// The one way both services read a JSON request body (issue 9). In order:
/// <list type="number">
/// <item>anything but <c>application/json</c> (or <c>+json</c>) in UTF-8 is 415 — a charset other than UTF-8 included;</item>
/// <item>invalid UTF-8, lone surrogate escapes and duplicate keys anywhere (values and names, however deep) and
/// nesting over <see cref="ApiLimitsOptions.MaxJsonDepth"/> are 400 naming the field path;</item>
/// <item>fields the contract does not have, <c>null</c> where it is not allowed, and values of the wrong type are
/// 400 naming the field path.</item>
/// </list>
/// Nothing is bound unless the whole body passed, so a handler never sees a value the checks did not see.
/// </summary>
public static class JsonBodyReader
{
    private static readonly ConditionalWeakTable<JsonSerializerOptions, JsonSerializerOptions> Strict = [];

    /// <summary>Reads a body that must be a JSON object of the contract <typeparamref name="T"/>.</summary>
    public static Task<JsonBody<T>> ReadAsync<T>(HttpRequest request, JsonSerializerOptions options, CancellationToken cancellationToken)
        where T : class =>
        ReadCoreAsync<T>(request, options, optional: false, cancellationToken);

    /// <summary>
    /// Like <see cref="ReadAsync{T}"/>, but a request without a body is fine: the result is valid and
    /// <see cref="JsonBody{T}.IsEmpty"/> (its <see cref="JsonBody{T}.Value"/> is null).
    /// </summary>
    public static Task<JsonBody<T>> ReadOptionalAsync<T>(HttpRequest request, JsonSerializerOptions options, CancellationToken cancellationToken)
        where T : class =>
        ReadCoreAsync<T>(request, options, optional: true, cancellationToken);

    /// <summary>Reads a body that must be a JSON object, any fields: the checks of steps 1 and 2 only.</summary>
    public static async Task<JsonBody<JsonElement?>> ReadObjectAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (bytes, problem) = await ReadCheckedBytesAsync(request, cancellationToken);
        if (problem is not null)
        {
            return JsonBody<JsonElement?>.Failed(problem);
        }

        using var document = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = MaxDepth(request) + 1 });
        return document.RootElement.ValueKind == JsonValueKind.Object
            ? JsonBody<JsonElement?>.Read(document.RootElement.Clone())
            : JsonBody<JsonElement?>.Failed(NotAnObject(document.RootElement.ValueKind));
    }

    private static async Task<JsonBody<T>> ReadCoreAsync<T>(HttpRequest request, JsonSerializerOptions options, bool optional, CancellationToken cancellationToken)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(options);
        if (optional && !HasBody(request))
        {
            return JsonBody<T>.Read(null);
        }

        var (bytes, problem) = await ReadCheckedBytesAsync(request, cancellationToken);
        if (problem is not null)
        {
            return JsonBody<T>.Failed(problem);
        }

        var strict = StrictVersionOf(options);
        using (var document = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = MaxDepth(request) + 1 }))
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return JsonBody<T>.Failed(NotAnObject(document.RootElement.ValueKind));
            }

            var errors = new JsonBodyErrors();
            JsonBodyShape.Check(document.RootElement, strict.GetTypeInfo(typeof(T)), errors);
            if (errors.Any)
            {
                return JsonBody<T>.Failed(Invalid(errors));
            }
        }

        try
        {
            return JsonSerializer.Deserialize<T>(bytes.Span, strict) is { } value
                ? JsonBody<T>.Read(value)
                : JsonBody<T>.Failed(NotAnObject(JsonValueKind.Null));
        }
        catch (JsonException ex)
        {
            var errors = new JsonBodyErrors();
            errors.Add(PathOf(ex), "The value has the wrong type or is not one of the allowed values.");
            return JsonBody<T>.Failed(Invalid(errors));
        }
    }

    /// <summary>The body's bytes after the media type, charset, encoding, duplicate-key and depth checks.</summary>
    private static async Task<(ReadOnlyMemory<byte> Bytes, JsonBodyProblem? Problem)> ReadCheckedBytesAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (!request.HasJsonContentType())
        {
            return (default, UnsupportedMediaType("Send the body as application/json."));
        }

        if (MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType) && mediaType.Charset.HasValue
            && !IsUtf8(mediaType.Charset.Value!.Trim('"')))
        {
            return (default, UnsupportedMediaType($"JSON bodies are read as UTF-8; the charset '{mediaType.Charset.Value}' is not supported."));
        }

        var bytes = await ReadAllAsync(request, cancellationToken);
        if (bytes.Length == 0)
        {
            return (default, new JsonBodyProblem(StatusCodes.Status400BadRequest, "The request body is invalid", "The body is empty; send a JSON object.", Errors("$", "The body is empty.")));
        }

        var errors = new JsonBodyErrors();
        JsonBodyScanner.Scan(bytes.Span, MaxDepth(request), errors);
        return errors.Any ? (default, Invalid(errors)) : (bytes, null);
    }

    private static async Task<ReadOnlyMemory<byte>> ReadAllAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var limit = request.HttpContext.RequestServices.GetService<ApiLimitsOptions>()?.MaxRequestBodyBytes ?? new ApiLimitsOptions().MaxRequestBodyBytes;
        var buffer = new ArrayBufferWriter<byte>(request.ContentLength is > 0 and <= 1024 * 1024 ? (int)request.ContentLength.Value : 4096);
        while (true)
        {
            var memory = buffer.GetMemory(4096);
            var read = await request.Body.ReadAsync(memory, cancellationToken);
            if (read == 0)
            {
                return buffer.WrittenMemory;
            }

            buffer.Advance(read);
            if (buffer.WrittenCount > limit)
            {
                // Kestrel enforces the same limit; this holds for any other server too.
                throw new BadHttpRequestException($"The body may be at most {limit} bytes.", StatusCodes.Status413PayloadTooLarge);
            }
        }
    }

    private static bool HasBody(HttpRequest request) =>
        request.ContentLength > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0);

    private static bool IsUtf8(string charset) =>
        string.Equals(charset, "utf-8", StringComparison.OrdinalIgnoreCase) || string.Equals(charset, "utf8", StringComparison.OrdinalIgnoreCase);

    private static int MaxDepth(HttpRequest request) =>
        request.HttpContext.RequestServices.GetService<ApiLimitsOptions>()?.MaxJsonDepth ?? new ApiLimitsOptions().MaxJsonDepth;

    private static string PathOf(JsonException ex) =>
        string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "$" : ex.Path.StartsWith("$.", StringComparison.Ordinal) ? ex.Path[2..] : ex.Path.TrimStart('$');

    private static JsonSerializerOptions StrictVersionOf(JsonSerializerOptions options) =>
        Strict.GetValue(options, static o =>
        {
            var strict = new JsonSerializerOptions(o)
            {
                UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
                RespectNullableAnnotations = true,
            };
            strict.MakeReadOnly(populateMissingResolver: true);
            return strict;
        });

    private static JsonBodyProblem UnsupportedMediaType(string detail) =>
        new(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type", detail, new Dictionary<string, string[]>());

    private static JsonBodyProblem NotAnObject(JsonValueKind kind) =>
        new(StatusCodes.Status400BadRequest, "The request body is invalid", "The body must be a JSON object.",
            Errors("$", $"The body must be a JSON object, not {kind.ToString().ToLowerInvariant()}."));

    private static JsonBodyProblem Invalid(JsonBodyErrors errors) =>
        new(StatusCodes.Status400BadRequest, "The request body is invalid", "See errors: each names a field path and what is wrong with it.", errors.ByPath);

    private static Dictionary<string, string[]> Errors(string path, string message) => new(StringComparer.Ordinal) { [path] = [message] };
}

/// <summary>Why a body could not be read: 415 (media type, charset) or 400 with field path → messages.</summary>
public sealed record JsonBodyProblem(int StatusCode, string Title, string Detail, IReadOnlyDictionary<string, string[]> Errors)
{
    /// <summary>The problem details to answer: <c>{ type, title, status, detail, errors: { path: [messages] } }</c>.</summary>
    public ProblemHttpResult ToResult() =>
        TypedResults.Problem(new HttpValidationProblemDetails(Errors.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal))
        {
            Status = StatusCode,
            Title = Title,
            Detail = Detail,
        });
}

/// <summary>A body read by <see cref="JsonBodyReader"/>: its value, or the problem to answer instead.</summary>
public sealed class JsonBody<T>
{
    private JsonBody(T? value, JsonBodyProblem? problem)
    {
        Value = value;
        Problem = problem;
    }

    /// <summary>The bound body (null when an optional body was absent).</summary>
    public T? Value { get; }

    /// <summary>Why the body was refused, or null when it was read.</summary>
    public JsonBodyProblem? Problem { get; }

    [MemberNotNullWhen(false, nameof(Problem))]
    public bool IsValid => Problem is null;

    /// <summary>An optional body that was not sent.</summary>
    public bool IsEmpty => Problem is null && Value is null;

    internal static JsonBody<T> Read(T? value) => new(value, null);

    internal static JsonBody<T> Failed(JsonBodyProblem problem) => new(default, problem);
}
