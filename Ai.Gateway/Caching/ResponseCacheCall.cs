using System.Text.Json.Serialization;
using Microsoft.Extensions.AI;

namespace Ai.Gateway.Caching;

/// <summary>
/// What one request asked of the shared response cache and what the cache did, travelling in
/// <see cref="ChatOptions.AdditionalProperties"/> (like the call context) so the answer can say whether it was a hit.
/// </summary>
public sealed class ResponseCacheCall
{
    private const string Key = "gateway.cache";

    /// <summary>The request header that asks for the cache, and the response header that says what it did.</summary>
    public const string Header = "x-gateway-cache";

    /// <summary>Look the answer up; on a miss keep the model's answer.</summary>
    public const string Use = "use";

    /// <summary>Do not look up, but keep the model's answer (replaces an older one).</summary>
    public const string Refresh = "refresh";

    /// <summary>Neither look up nor keep (what a request that does not ask gets).</summary>
    public const string Bypass = "bypass";

    public static readonly IReadOnlyList<string> Modes = [Use, Refresh, Bypass];

    public ResponseCacheCall(string mode, string caller, string surface)
    {
        Mode = mode;
        Caller = caller;
        Surface = surface;
        Status = mode == Bypass ? CacheStatus.Bypass : CacheStatus.Off;
    }

    public string Mode { get; }

    /// <summary>The API key's caller: one caller never gets another's cached answers.</summary>
    public string Caller { get; }

    /// <summary>The API the request came through (<c>generate</c>, <c>chat</c>): their answers are built differently.</summary>
    public string Surface { get; }

    public string Status { get; private set; }

    public bool Stored { get; private set; }

    /// <summary>On a hit: the model that gave the cached answer, and what that answer cost then.</summary>
    public string? HitModel { get; private set; }

    public decimal? SavedCostUsd { get; private set; }

    /// <summary>The mode asked for: <c>use</c>, <c>refresh</c> or <c>bypass</c> (any case); null when it is none of them.</summary>
    public static string? ParseMode(string? value) =>
        Modes.FirstOrDefault(m => string.Equals(m, value?.Trim(), StringComparison.OrdinalIgnoreCase));

    public static ResponseCacheCall? From(ChatOptions? options) =>
        options?.AdditionalProperties?.TryGetValue(Key, out var value) == true ? value as ResponseCacheCall : null;

    public void Attach(ChatOptions options) => (options.AdditionalProperties ??= [])[Key] = this;

    public ResponseCacheInfo Info => new(Status, Stored, SavedCostUsd);

    internal void Looked(string status) => Status = status;

    internal void WasStored() => Stored = true;

    internal void Hit(string model, decimal costUsd)
    {
        Status = CacheStatus.Hit;
        HitModel = model;
        SavedCostUsd = costUsd;
    }
}

/// <summary>What the cache did for a request (the <c>x-gateway-cache</c> response header and the <c>cache</c> field).</summary>
public static class CacheStatus
{
    /// <summary>Served from the cache: no model was called, no tokens charged.</summary>
    public const string Hit = "hit";

    /// <summary>Not in the cache: the model answered (and the answer was kept when it could be: <c>stored</c>).</summary>
    public const string Miss = "miss";

    /// <summary>Not looked up, as asked: the model answered and its answer was kept when it could be.</summary>
    public const string Refresh = "refresh";

    /// <summary>The request said <c>bypass</c>.</summary>
    public const string Bypass = "bypass";

    /// <summary>The model's cache is not enabled (<c>Gateway:Models:&lt;id&gt;:Cache:Enabled</c>).</summary>
    public const string Off = "off";

    /// <summary>Redis did not answer in time (or failed): the model answered, nothing was kept.</summary>
    public const string Unavailable = "unavailable";
}

/// <summary>The <c>cache</c> field of an answer.</summary>
public sealed record ResponseCacheInfo(
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("stored")] bool Stored,
    [property: JsonPropertyName("savedCostUsd"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] decimal? SavedCostUsd);
