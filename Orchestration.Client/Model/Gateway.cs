using System.Text.Json;
using System.Text.Json.Serialization;

namespace Orchestration.Client;

/// <summary>The gateway's model catalog with live state (<c>GET /v1/gateway/models</c>).</summary>
public sealed record ModelCatalog
{
    /// <summary>The model used when a request names none.</summary>
    public string DefaultModel { get; init; } = "";

    /// <summary>Providers with credentials (others are served by <c>offline</c>).</summary>
    public IReadOnlyList<string> LiveProviders { get; init; } = [];

    /// <summary>The models.</summary>
    public IReadOnlyList<ModelInfo> Models { get; init; } = [];
}

/// <summary>A catalog model, the provider serving it now, its circuit and its shared bucket.</summary>
public sealed record ModelInfo
{
    /// <summary>The model id.</summary>
    public string Id { get; init; } = "";

    /// <summary>The configured provider.</summary>
    public string Provider { get; init; } = "";

    /// <summary>The tier.</summary>
    [JsonConverter(typeof(LenientStringConverter))]
    public string? Tier { get; init; }

    /// <summary>Price per million input tokens, USD.</summary>
    public decimal InputPricePerMillion { get; init; }

    /// <summary>Price per million output tokens, USD.</summary>
    public decimal OutputPricePerMillion { get; init; }

    /// <summary>Requests per second the shared bucket refills.</summary>
    public double Qps { get; init; }

    /// <summary>The bucket's capacity.</summary>
    public int Burst { get; init; }

    /// <summary>Requests allowed per UTC day, if limited.</summary>
    public long? DailyLimit { get; init; }

    /// <summary>The fallback chain.</summary>
    public IReadOnlyList<string> Fallbacks { get; init; } = [];

    /// <summary>The provider that serves it now (<c>offline</c> without credentials).</summary>
    public string ServedBy { get; init; } = "";

    /// <summary>The circuit breaker's state (<c>closed</c>, <c>open</c>, <c>half-open</c>...).</summary>
    public string Circuit { get; init; } = "";

    /// <summary>The shared bucket now.</summary>
    public BucketInfo? Bucket { get; init; }

    /// <summary>Fields this client does not know yet.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; init; }
}

/// <summary>A model's shared token bucket.</summary>
public sealed record BucketInfo
{
    /// <summary>Tokens left now.</summary>
    public long Remaining { get; init; }

    /// <summary>Capacity.</summary>
    public long Capacity { get; init; }

    /// <summary>Requests left today, when limited.</summary>
    public long? DailyRemaining { get; init; }

    /// <summary>The daily limit, when limited.</summary>
    public long? DailyLimit { get; init; }

    /// <summary>Read from the local fallback limiter because Redis did not answer.</summary>
    public bool FromFallback { get; init; }
}

/// <summary>Usage per model for one UTC day (<c>GET /v1/usage?date=</c>).</summary>
public sealed record UsageDay
{
    /// <summary>The day, <c>yyyy-MM-dd</c>.</summary>
    public string Date { get; init; } = "";

    /// <summary>Per model.</summary>
    public IReadOnlyList<ModelUsage> Models { get; init; } = [];

    /// <summary>Cost of the day, USD.</summary>
    public decimal TotalCostUsd { get; init; }

    /// <summary>Requests of the day.</summary>
    public long TotalRequests { get; init; }
}

/// <summary>One model's usage on one day.</summary>
public sealed record ModelUsage
{
    /// <summary>The model.</summary>
    public string Model { get; init; } = "";

    /// <summary>Answered requests.</summary>
    public long Requests { get; init; }

    /// <summary>Input tokens.</summary>
    public long InputTokens { get; init; }

    /// <summary>Output tokens.</summary>
    public long OutputTokens { get; init; }

    /// <summary>Cost, USD.</summary>
    public decimal CostUsd { get; init; }

    /// <summary>Requests the rate limit denied.</summary>
    public long Denials { get; init; }

    /// <summary>Requests served by a fallback model.</summary>
    public long Fallbacks { get; init; }

    /// <summary>Failed calls.</summary>
    public long Failures { get; init; }

    /// <summary>Input plus output tokens.</summary>
    [JsonIgnore]
    public long TotalTokens => InputTokens + OutputTokens;
}
