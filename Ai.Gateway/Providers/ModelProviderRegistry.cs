using System.Collections.Concurrent;
using Ai.Gateway.Model;
using Ai.Gateway.Providers.Gemini;
using Ai.Gateway.Providers.Offline;
using Ai.Gateway.Providers.OpenAI;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ai.Gateway.Providers;

/// <summary>Hands out the <see cref="IChatClient"/> that serves a catalog model.</summary>
public interface IModelProviderRegistry
{
    /// <summary>
    /// The client for <paramref name="model"/>, bound to its id. A model whose provider is not configured
    /// (no Gemini key; no OpenAI key or endpoint) gets the offline client, whose responses say model <c>offline</c>.
    /// </summary>
    IChatClient GetChatClient(ModelDefinition model);

    /// <summary>
    /// The embedding generator for <paramref name="model"/> (an embedding model), bound to its id; offline (vectors of
    /// the model's <c>Dimensions</c>) when its provider is not configured.
    /// </summary>
    IEmbeddingGenerator<string, Embedding<float>> GetEmbeddingGenerator(ModelDefinition model);

    /// <summary>The provider that actually serves <paramref name="model"/>: its own, or <c>offline</c>.</summary>
    string ServingProvider(ModelDefinition model);

    /// <summary>Providers with credentials or an endpoint configured (<c>offline</c> is always live).</summary>
    IReadOnlyList<string> LiveProviders { get; }
}

public sealed class ModelProviderRegistry : IModelProviderRegistry, IDisposable
{
    private readonly IHttpClientFactory _httpClients;
    private readonly GeminiOptions _gemini;
    private readonly OpenAIOptions _openAI;
    private readonly OfflineChatClient _offline;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggers;
    private readonly ConcurrentDictionary<(string Provider, string Model), IChatClient> _clients = new();
    private readonly ConcurrentDictionary<(string Provider, string Model), IEmbeddingGenerator<string, Embedding<float>>> _generators = new();

    public ModelProviderRegistry(
        IHttpClientFactory httpClients,
        IOptions<GeminiOptions> gemini,
        IOptions<OpenAIOptions> openAI,
        OfflineChatClient offline,
        TimeProvider time,
        ILoggerFactory loggers)
    {
        _httpClients = httpClients;
        _gemini = gemini.Value;
        _openAI = openAI.Value;
        _offline = offline;
        _time = time;
        _loggers = loggers;
        LiveProviders = new[]
        {
            _gemini.HasApiKey ? ProviderNames.Gemini : null,
            _openAI.IsConfigured ? ProviderNames.OpenAI : null,
            ProviderNames.Offline,
        }.OfType<string>().ToArray();
    }

    public IReadOnlyList<string> LiveProviders { get; }

    public string ServingProvider(ModelDefinition model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.Provider switch
        {
            ProviderNames.Gemini => _gemini.HasApiKey ? ProviderNames.Gemini : ProviderNames.Offline,
            ProviderNames.OpenAI => _openAI.IsConfigured ? ProviderNames.OpenAI : ProviderNames.Offline,
            ProviderNames.Offline => ProviderNames.Offline,
            _ => throw new ArgumentException($"Model '{model.Id}' names an unknown provider '{model.Provider}'.", nameof(model)),
        };
    }

    public IChatClient GetChatClient(ModelDefinition model) => ServingProvider(model) switch
    {
        ProviderNames.Gemini => _clients.GetOrAdd((ProviderNames.Gemini, model.Id), static (key, registry) =>
            new GeminiChatClient(
                registry._httpClients.CreateClient(GeminiChatClient.HttpClientName), registry._gemini, key.Model,
                registry._time, registry._loggers.CreateLogger<GeminiChatClient>()), this),
        ProviderNames.OpenAI => _clients.GetOrAdd((ProviderNames.OpenAI, model.Id), static (key, registry) =>
            new OpenAICompatibleChatClient(
                registry._httpClients.CreateClient(OpenAICompatibleChatClient.HttpClientName), registry._openAI, key.Model,
                registry._time, registry._loggers.CreateLogger<OpenAICompatibleChatClient>()), this),
        _ => _offline,
    };

    public IEmbeddingGenerator<string, Embedding<float>> GetEmbeddingGenerator(ModelDefinition model) =>
        _generators.GetOrAdd((ServingProvider(model), model.Id), static (key, state) => key.Provider switch
        {
            ProviderNames.Gemini => new GeminiEmbeddingGenerator(
                state.Registry._httpClients.CreateClient(GeminiChatClient.HttpClientName), state.Registry._gemini, key.Model,
                state.Registry._time, state.Registry._loggers.CreateLogger<GeminiEmbeddingGenerator>()),
            ProviderNames.OpenAI => new OpenAICompatibleEmbeddingGenerator(
                state.Registry._httpClients.CreateClient(OpenAICompatibleChatClient.HttpClientName), state.Registry._openAI, key.Model,
                state.Registry._time, state.Registry._loggers.CreateLogger<OpenAICompatibleEmbeddingGenerator>()),
            _ => new OfflineEmbeddingGenerator(state.Model.Dimensions ?? OfflineEmbeddingGenerator.DefaultDimensions, state.Registry._time),
        }, (Registry: this, Model: model));

    public void Dispose()
    {
        foreach (var client in _clients.Values)
        {
            client.Dispose();
        }

        foreach (var generator in _generators.Values)
        {
            generator.Dispose();
        }

        _clients.Clear();
        _generators.Clear();
    }
}
