using Ai.Gateway.Caching;
using Ai.Gateway.Generation;

namespace Ai.Gateway.Apis;

/// <summary>The <c>x-gateway-cache</c> header: the mode a request asks for, and what the cache did.</summary>
internal static class CacheHeaders
{
    public static readonly Dictionary<string, string[]> Invalid = new(StringComparer.Ordinal)
    {
        [ResponseCacheCall.Header] = [$"One of: {string.Join(", ", ResponseCacheCall.Modes)}."],
    };

    /// <summary>The caller and the mode its header asks for (none without the header); null when the header is not one mode.</summary>
    public static CacheCaller? Read(HttpContext http)
    {
        var name = http.User.Identity?.Name ?? "";
        if (!http.Request.Headers.TryGetValue(ResponseCacheCall.Header, out var values))
        {
            return new CacheCaller(name, null);
        }

        return values.Count == 1 && ResponseCacheCall.ParseMode(values[0]) is { } mode ? new CacheCaller(name, mode) : null;
    }

    /// <summary>Says what the cache did, when the request asked for it.</summary>
    public static void Write(HttpContext http, CacheCaller caller)
    {
        if (caller.Call is { } call)
        {
            http.Response.Headers[ResponseCacheCall.Header] = call.Status;
        }
    }
}
