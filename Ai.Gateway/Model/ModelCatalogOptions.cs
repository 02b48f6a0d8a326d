using System.ComponentModel.DataAnnotations;

namespace Ai.Gateway.Model;

/// <summary>The models the gateway may call (configuration section <c>Gateway</c>).</summary>
public sealed class ModelCatalogOptions
{
    public const string SectionName = "Gateway";

    /// <summary>The model used when a request names none and no route hint picks one.</summary>
    [Required]
    public string DefaultModel { get; set; } = "";

    /// <summary>
    /// The embedding model <c>POST /v1/embeddings</c> uses when a request names none (or <c>auto</c>); empty: such a
    /// request must name one. Must be a model of kind <see cref="ModelKind.Embedding"/>.
    /// </summary>
    public string DefaultEmbeddingModel { get; set; } = "";

    /// <summary>The models by id, e.g. <c>Gateway:Models:gemini-3.5-flash:Qps</c>, so one model can be changed or added without rewriting the others.</summary>
    [Required]
    public Dictionary<string, ModelDefinition> Models { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The models in id order, each knowing its id.</summary>
    public IReadOnlyList<ModelDefinition> All => Models.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => m.Value with { Id = m.Key }).ToList();
}

public enum ModelTier
{
    Pro,
    Flash,
    Fast,
}

/// <summary>What a model is for: chat routes never call an embedding model, <c>/v1/embeddings</c> never a chat model.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<ModelKind>))]
public enum ModelKind
{
    Chat,
    Embedding,
}

public sealed record ModelDefinition
{
    /// <summary>The provider's model id, e.g. <c>gemini-3.5-flash</c> (the key under <c>Gateway:Models</c>).</summary>
    public string Id { get; init; } = "";

    /// <summary><c>gemini</c>, <c>openai</c> or <c>offline</c>.</summary>
    [Required, AllowedValues("gemini", "openai", "offline")]
    public string Provider { get; init; } = "";

    public ModelTier Tier { get; init; } = ModelTier.Flash;

    /// <summary><c>Chat</c> (the default) or <c>Embedding</c>. A model's fallbacks are of its own kind.</summary>
    public ModelKind Kind { get; init; } = ModelKind.Chat;

    /// <summary>
    /// An embedding model's vector length (the most a request's <c>dimensions</c> may ask for; the offline provider's
    /// length when a request asks none). Null: the provider's own default, and any <c>dimensions</c> up to 16384.
    /// </summary>
    [Range(1, 16_384)]
    public int? Dimensions { get; init; }

    /// <summary>USD per one million input tokens.</summary>
    [Range(0, 10_000)]
    public decimal InputPricePerMillion { get; init; }

    /// <summary>USD per one million output tokens (thinking tokens included).</summary>
    [Range(0, 10_000)]
    public decimal OutputPricePerMillion { get; init; }

    /// <summary>Sustained requests per second, shared by every gateway replica.</summary>
    [Range(0.001, 100_000)]
    public double Qps { get; init; } = 1;

    /// <summary>Requests that may be sent at once after a quiet period.</summary>
    [Range(1, 1_000_000)]
    public int Burst { get; init; } = 1;

    /// <summary>Requests per day (reset at midnight in the quota time zone); null for no daily limit.</summary>
    [Range(1, long.MaxValue)]
    public long? DailyLimit { get; init; }

    /// <summary>Models to try, in order, when this one fails or is out of quota.</summary>
    public List<string> Fallbacks { get; init; } = [];

    /// <summary>
    /// The Gemini thinking levels the model accepts (<c>MINIMAL</c>, <c>LOW</c>, <c>MEDIUM</c>, <c>HIGH</c>), where they are
    /// known. <c>reasoning_effort: "minimal"</c> sends <c>MINIMAL</c> only to a model that lists it, else <c>LOW</c>.
    /// </summary>
    public List<string> ThinkingLevels { get; init; } = [];

    /// <summary>The shared response cache for this model (<c>Gateway:Models:&lt;id&gt;:Cache</c>); off unless enabled.</summary>
    public ModelCacheOptions Cache { get; init; } = new();
}

/// <summary>
/// Whether answers of a model may be kept in the shared response cache, and for how long. A request still has to ask
/// for the cache (<c>x-gateway-cache: use</c>, or <c>cache: "use"</c> on <c>/v1/generate</c>).
/// </summary>
public sealed record ModelCacheOptions
{
    public bool Enabled { get; init; }

    /// <summary>How long an answer stays in the cache.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan Ttl { get; init; } = TimeSpan.FromHours(1);

    /// <summary>An answer larger than this (its stored JSON, in bytes) is not kept.</summary>
    [Range(1, 16 * 1024 * 1024)]
    public int MaxEntryBytes { get; init; } = 256 * 1024;
}
