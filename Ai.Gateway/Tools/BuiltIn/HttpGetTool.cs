using System.Buffers;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;

namespace Ai.Gateway.Tools.BuiltIn;

/// <summary>
/// Fetches a URL from an allow-listed host with a time and size cap. Redirects are followed by hand,
/// only to allowed hosts and never from https to http; the handler refuses non-public addresses
/// (see <see cref="GuardedConnector"/>).
/// </summary>
public sealed class HttpGetTool(IHttpClientFactory httpClients, IOptionsMonitor<HttpGetToolOptions> options, TimeProvider time) : ITool
{
    public const string HttpClientName = "tools-http-get";

    private static readonly JsonElement Input = SchemaJson.Parse("""
        {
          "type": "object",
          "properties": {
            "url": { "type": "string", "format": "uri", "maxLength": 2048, "description": "An absolute http or https URL on an allowed host." }
          },
          "required": ["url"],
          "additionalProperties": false
        }
        """);

    private static readonly JsonElement Output = SchemaJson.Parse("""
        {
          "type": "object",
          "properties": {
            "url": { "type": "string", "description": "The URL that answered, after redirects." },
            "status": { "type": "integer" },
            "contentType": { "type": ["string", "null"] },
            "encoding": { "enum": ["text", "base64"], "description": "How body holds the bytes: decoded text, or base64 for binary content." },
            "body": { "type": "string" },
            "bytes": { "type": "integer", "minimum": 0, "description": "Body bytes returned." },
            "truncated": { "type": "boolean", "description": "True when the body was longer than the size cap and was cut." },
            "redirects": { "type": "integer", "minimum": 0 }
          },
          "required": ["url", "status", "contentType", "encoding", "body", "bytes", "truncated", "redirects"],
          "additionalProperties": false
        }
        """);

    public string Name => "http_get";

    public string Description => "Fetches a web page or API response with HTTP GET from an allow-listed host; long bodies are truncated.";

    public JsonElement InputSchema => Input;

    public JsonElement OutputSchema => Output;

    public async Task<JsonNode?> InvokeAsync(JsonElement arguments, CancellationToken cancellationToken)
    {
        var settings = options.CurrentValue;
        var url = arguments.GetProperty("url").GetString()!;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new ToolArgumentException("/url", "The URL must be an absolute http or https URL.");
        }

        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            throw new ToolArgumentException("/url", "The URL may not carry credentials.");
        }

        if (!HostAllowList.IsAllowed(settings, uri.IdnHost, uri.Port))
        {
            throw new ToolArgumentException("/url", uri.Port is 80 or 443
                ? $"The host '{uri.IdnHost}' is not on the allow-list (Tools:HttpGet:AllowedHosts)."
                : $"The host '{uri.IdnHost}' on port {uri.Port} is not on the allow-list (Tools:HttpGet:AllowedHosts; an entry without a port allows only 80 and 443).");
        }

        var timeout = TimeSpan.FromSeconds(settings.TimeoutSeconds);
        using var timer = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        try
        {
            return await FetchAsync(uri, settings, linked.Token);
        }
        catch (OperationCanceledException) when (timer.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new ToolException(string.Create(CultureInfo.InvariantCulture, $"The request did not finish within {timeout.TotalSeconds:0.###} s."));
        }
    }

    private async Task<JsonNode> FetchAsync(Uri uri, HttpGetToolOptions settings, CancellationToken cancellationToken)
    {
        var client = httpClients.CreateClient(HttpClientName);
        for (var redirects = 0; ; redirects++)
        {
            using var response = await SendAsync(client, uri, isRedirect: redirects > 0, cancellationToken);
            if (response.StatusCode is not (HttpStatusCode.MovedPermanently or HttpStatusCode.Found or HttpStatusCode.SeeOther
                    or HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect)
                || response.Headers.Location is not { } location)
            {
                return await ReadAsync(response, uri, redirects, settings.MaxBytes, cancellationToken);
            }

            if (redirects >= settings.MaxRedirects)
            {
                throw new ToolException($"Too many redirects: the limit is {settings.MaxRedirects}.");
            }

            uri = NextHop(uri, location, settings);
        }
    }

    private static Uri NextHop(Uri current, Uri location, HttpGetToolOptions settings)
    {
        var next = location.IsAbsoluteUri ? location : new Uri(current, location);
        if (next.Scheme != Uri.UriSchemeHttp && next.Scheme != Uri.UriSchemeHttps)
        {
            throw new ToolException($"Refused a redirect to a non-HTTP URL ({next.Scheme}).");
        }

        if (current.Scheme == Uri.UriSchemeHttps && next.Scheme == Uri.UriSchemeHttp)
        {
            throw new ToolException("Refused a redirect from https to http.");
        }

        var sameHost = string.Equals(next.IdnHost, current.IdnHost, StringComparison.OrdinalIgnoreCase) && next.Port == current.Port;
        return sameHost || HostAllowList.IsAllowed(settings, next.IdnHost, next.Port)
            ? next
            : throw new ToolException($"Refused a redirect to '{next.IdnHost}': the host is not on the allow-list.");
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, Uri uri, bool isRedirect, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        try
        {
            return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException e) when (e.InnerException is NonPublicAddressException refused)
        {
            throw isRedirect ? new ToolException(refused.Message) : new ToolArgumentException("/url", refused.Message);
        }
        catch (HttpRequestException e)
        {
            // HttpRequestError names the failure without the addresses and paths the message may hold.
            throw new ToolException($"The request to '{uri.IdnHost}' failed: {e.HttpRequestError}.");
        }
    }

    private static async Task<JsonNode> ReadAsync(HttpResponseMessage response, Uri uri, int redirects, int maxBytes, CancellationToken cancellationToken)
    {
        // One byte more than the cap tells a body of exactly the cap from a longer one.
        var buffer = ArrayPool<byte>.Shared.Rent(maxBytes + 1);
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            var read = 0;
            int chunk;
            while (read <= maxBytes && (chunk = await body.ReadAsync(buffer.AsMemory(read, maxBytes + 1 - read), cancellationToken)) > 0)
            {
                read += chunk;
            }

            var bytes = Math.Min(read, maxBytes);
            var contentType = response.Content.Headers.ContentType;
            var text = TextEncoding(contentType?.MediaType, contentType?.CharSet);
            return new JsonObject
            {
                ["url"] = uri.AbsoluteUri,
                ["status"] = (int)response.StatusCode,
                ["contentType"] = contentType?.ToString(),
                ["encoding"] = text is null ? "base64" : "text",
                ["body"] = text is null ? Convert.ToBase64String(buffer, 0, bytes) : text.GetString(buffer, 0, bytes),
                ["bytes"] = bytes,
                ["truncated"] = read > maxBytes,
                ["redirects"] = redirects,
            };
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // Text for text/*, JSON, XML, JavaScript and unlabelled bodies; null (base64) for the rest.
    private static Encoding? TextEncoding(string? mediaType, string? charset)
    {
        var isText = mediaType is null
            || mediaType.StartsWith("text/", StringComparison.OrdinalIgnoreCase)
            || mediaType.EndsWith("json", StringComparison.OrdinalIgnoreCase)
            || mediaType.EndsWith("xml", StringComparison.OrdinalIgnoreCase)
            || mediaType.EndsWith("javascript", StringComparison.OrdinalIgnoreCase);
        if (!isText)
        {
            return null;
        }

        try
        {
            return charset is null ? Encoding.UTF8 : Encoding.GetEncoding(charset.Trim('"'));
        }
        catch (ArgumentException)
        {
            return Encoding.UTF8;
        }
    }
}
