using Ai.Gateway.Model;
using Ai.Gateway.Usage;
using Communication.Bus.RateLimiting;
using Microsoft.Extensions.Options;

namespace Ai.Gateway.Policy;

/// <summary>The configured models, their fallback chains and their shared rate-limit rules.</summary>
public sealed class ModelCatalog(IOptions<ModelCatalogOptions> catalog, IOptions<GatewayPolicyOptions> policy)
{
    private readonly IReadOnlyList<ModelDefinition> _models = catalog.Value.All;
    private readonly Dictionary<string, ModelDefinition> _byId = catalog.Value.All.ToDictionary(m => m.Id, StringComparer.Ordinal);

    /// <summary>The models in id order.</summary>
    public IReadOnlyList<ModelDefinition> Models => _models;

    public string DefaultModel => catalog.Value.DefaultModel;

    /// <summary>The model <c>POST /v1/embeddings</c> uses when a request names none; empty when none is configured.</summary>
    public string DefaultEmbeddingModel => catalog.Value.DefaultEmbeddingModel;

    public ModelDefinition? Find(string id) => _byId.GetValueOrDefault(id);

    /// <summary>Why <paramref name="model"/> cannot serve a route for <paramref name="wanted"/> models, or null when it can.</summary>
    public static string? WrongKind(ModelDefinition model, ModelKind wanted) => model.Kind == wanted ? null
        : wanted == ModelKind.Embedding
            ? $"The model '{model.Id}' is a chat model; /v1/embeddings takes an embedding model (Gateway:Models:<id>:Kind Embedding)."
            : $"The model '{model.Id}' is an embedding model; use it with /v1/embeddings, and a chat model here.";

    /// <summary>The model, then its fallbacks in order (each once).</summary>
    public IReadOnlyList<ModelDefinition> Chain(string primary)
    {
        var first = Find(primary) ?? throw new ArgumentException($"Model '{primary}' is not in the catalog.", nameof(primary));
        return new[] { first }
            .Concat(first.Fallbacks.Select(Find).OfType<ModelDefinition>())
            .DistinctBy(m => m.Id)
            .ToList();
    }

    /// <summary>The bucket every gateway replica shares for this model.</summary>
    public static string BucketName(ModelDefinition model) => $"model:{model.Id}";

    public TokenBucketRule RuleFor(ModelDefinition model) => new(model.Burst, model.Qps)
    {
        DailyQuota = model.DailyLimit,
        DailyQuotaTimeZone = policy.Value.DailyQuotaTimeZone,
    };

    /// <summary>USD for the tokens at this model's prices.</summary>
    public static decimal Cost(ModelDefinition model, TokenUsage usage) =>
        ((usage.InputTokens * model.InputPricePerMillion) + (usage.OutputTokens * model.OutputPricePerMillion)) / 1_000_000m;
}
