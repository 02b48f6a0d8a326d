using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SdkEmbeddingClient = OpenAI.Embeddings.EmbeddingClient;

namespace Ai.Gateway.Providers.OpenAI;

/// <summary>
/// An OpenAI-compatible <c>/embeddings</c> endpoint through the OpenAI SDK's <see cref="SdkEmbeddingClient"/> and
/// <c>AsIEmbeddingGenerator()</c>, with the same settings and failure mapping as <see cref="OpenAICompatibleChatClient"/>.
/// </summary>
public sealed class OpenAICompatibleEmbeddingGenerator : DelegatingEmbeddingGenerator<string, Embedding<float>>
{
    private readonly OpenAIOptions _options;
    private readonly TimeProvider _time;
    private readonly OpenAITransport _transport;

    public OpenAICompatibleEmbeddingGenerator(
        HttpClient httpClient,
        OpenAIOptions options,
        string model,
        TimeProvider? timeProvider = null,
        ILogger<OpenAICompatibleEmbeddingGenerator>? logger = null)
        : base(new SdkEmbeddingClient(model, OpenAITransport.Credential(options), OpenAITransport.ClientOptions(httpClient, options)).AsIEmbeddingGenerator())
    {
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _transport = new OpenAITransport(model, options, _time, (ILogger?)logger ?? NullLogger.Instance);
    }

    public override async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values,
        EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        using var deadline = _time.StartDeadline(_options.RequestTimeout, cancellationToken);
        try
        {
            return await base.GenerateAsync(values, options, deadline.Token);
        }
        catch (Exception e) when (_transport.Translate(e, deadline) is { } failure)
        {
            throw failure;
        }
    }
}
