using System.Collections.Concurrent;
using Ai.Gateway.Model;
using Ai.Gateway.Providers;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace Ai.Gateway.Policy;

/// <summary>
/// Embeddings through the one policy (<see cref="ModelCallPolicy"/>), as chat goes through it: the requested
/// embedding model (<see cref="EmbeddingGenerationOptions.ModelId"/>, else <c>Gateway:DefaultEmbeddingModel</c>)
/// and then its fallbacks, each behind its circuit, its shared rate limit and its Polly pipeline; every try is
/// recorded in the <see cref="GatewayCallContext"/> carried in the options, tokens and cost in usage.
/// </summary>
public sealed class GatewayEmbeddingGenerator(
    ModelCatalog catalog,
    IModelProviderRegistry providers,
    ModelCallPolicy policy,
    IOptions<GatewayPolicyOptions> options,
    ILoggerFactory loggers) : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly ConcurrentDictionary<string, IEmbeddingGenerator<string, Embedding<float>>> _generators = new(StringComparer.Ordinal);

    /// <exception cref="AllModelsFailedException">No model of the chain answered.</exception>
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        var model = options?.ModelId is { Length: > 0 } named ? named
            : catalog.DefaultEmbeddingModel is { Length: > 0 } configured ? configured
            : throw new InvalidOperationException("No embedding model: set EmbeddingGenerationOptions.ModelId or Gateway:DefaultEmbeddingModel.");
        var context = GatewayCallContext.From(options) ?? new GatewayCallContext();
        var inputs = values as IReadOnlyList<string> ?? values.ToList();
        return policy.RunAsync(policy.Chain(model), context,
            (m, ct) => GeneratorFor(m).GenerateAsync(inputs, ForModel(options, m), ct),
            embeddings => embeddings.Usage, cancellationToken);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }

    private IEmbeddingGenerator<string, Embedding<float>> GeneratorFor(ModelDefinition model) => _generators.GetOrAdd(model.Id, _ =>
        providers.GetEmbeddingGenerator(model).AsBuilder()
            .UseOpenTelemetry(options.Value.CaptureContent ? loggers : null, GatewayChatClient.TelemetrySource,
                otel => otel.EnableSensitiveData = options.Value.CaptureContent)
            .Build());

    private static EmbeddingGenerationOptions ForModel(EmbeddingGenerationOptions? requested, ModelDefinition model)
    {
        var copy = requested?.Clone() ?? new EmbeddingGenerationOptions();
        copy.ModelId = model.Id;
        // The call's record stays with the gateway; providers get only what they can send.
        copy.AdditionalProperties?.Remove(GatewayCallContext.Key);
        return copy;
    }
}
