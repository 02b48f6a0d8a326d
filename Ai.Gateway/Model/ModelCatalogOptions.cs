using System.ComponentModel.DataAnnotations;

namespace Ai.Gateway.Model;

/// <summary>The models the gateway may call (configuration section <c>Gateway</c>).</summary>
public sealed class ModelCatalogOptions
{
    public const string SectionName = "Gateway";

    /// <summary>The model used when a request names none and no route hint picks one.</summary>
    [Required]
    public string DefaultModel { get; set; } = "";

    [Required, MinLength(1)]
    public List<ModelDefinition> Models { get; set; } = [];
}

public enum ModelTier
{
    Pro,
    Flash,
    Fast,
}

public sealed class ModelDefinition
{
    /// <summary>The provider's model id, e.g. <c>gemini-3.5-flash</c>.</summary>
    [Required, RegularExpression("^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")]
    public string Id { get; set; } = "";

    /// <summary><c>gemini</c>, <c>openai</c> or <c>offline</c>.</summary>
    [Required, AllowedValues("gemini", "openai", "offline")]
    public string Provider { get; set; } = "";

    public ModelTier Tier { get; set; } = ModelTier.Flash;

    /// <summary>USD per one million input tokens.</summary>
    [Range(0, 10_000)]
    public decimal InputPricePerMillion { get; set; }

    /// <summary>USD per one million output tokens (thinking tokens included).</summary>
    [Range(0, 10_000)]
    public decimal OutputPricePerMillion { get; set; }

    /// <summary>Sustained requests per second, shared by every gateway replica.</summary>
    [Range(0.001, 100_000)]
    public double Qps { get; set; } = 1;

    /// <summary>Requests that may be sent at once after a quiet period.</summary>
    [Range(1, 1_000_000)]
    public int Burst { get; set; } = 1;

    /// <summary>Requests per day (reset at midnight in the quota time zone); null for no daily limit.</summary>
    [Range(1, long.MaxValue)]
    public long? DailyLimit { get; set; }

    /// <summary>Models to try, in order, when this one fails or is out of quota.</summary>
    public List<string> Fallbacks { get; set; } = [];
}
