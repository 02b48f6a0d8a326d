using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ai.Gateway.Providers.Gemini;

/// <summary>
/// Gemini's embeddings behind <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/>: one input through
/// <c>models/{model}:embedContent</c>, several through <c>:batchEmbedContents</c> (at most
/// <see cref="MaxBatch"/> per call, Gemini's limit, in order). <c>Dimensions</c> becomes <c>outputDimensionality</c>.
/// One attempt per call, failures as <see cref="ModelProviderException"/>, like <see cref="GeminiChatClient"/>.
/// </summary>
public sealed class GeminiEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    /// <summary>The most inputs Gemini takes in one <c>batchEmbedContents</c> call.</summary>
    public const int MaxBatch = 100;

    private readonly GeminiTransport _transport;
    private readonly GeminiOptions _options;
    private readonly string _model;
    private readonly TimeProvider _time;
    private readonly EmbeddingGeneratorMetadata _metadata;

    public GeminiEmbeddingGenerator(HttpClient httpClient, GeminiOptions options, string model, TimeProvider? timeProvider = null,
        ILogger<GeminiEmbeddingGenerator>? logger = null)
    {
        _transport = new GeminiTransport(httpClient, options, timeProvider, (ILogger?)logger ?? NullLogger.Instance);
        _options = options;
        _model = GeminiTransport.BareModel(model);
        _time = timeProvider ?? TimeProvider.System;
        _metadata = new EmbeddingGeneratorMetadata(GeminiChatClient.ProviderName, _transport.BaseUri, _model);
    }

    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        var model = options?.ModelId is { } id ? GeminiTransport.BareModel(id) : _model;
        var inputs = values as IReadOnlyList<string> ?? values.ToList();
        var result = new GeneratedEmbeddings<Embedding<float>>(inputs.Count);
        long characters = 0;
        long? reportedTokens = null;

        using var deadline = _time.StartDeadline(_options.RequestTimeout, cancellationToken);
        try
        {
            for (var start = 0; start < inputs.Count; start += MaxBatch)
            {
                var batch = inputs.Skip(start).Take(MaxBatch).ToList();
                var (vectors, tokens) = batch.Count == 1 && inputs.Count == 1
                    ? await EmbedOneAsync(model, batch[0], options?.Dimensions, deadline)
                    : await EmbedManyAsync(model, batch, options?.Dimensions, deadline);
                if (vectors.Count != batch.Count)
                {
                    throw _transport.Logged(new ModelProviderException(
                        $"gemini model '{model}' answered {vectors.Count} embeddings for {batch.Count} inputs.",
                        ProviderNames.Gemini, model, ModelFailureKind.InvalidResponse));
                }

                result.AddRange(vectors.Select(v => new Embedding<float>(v) { ModelId = model, CreatedAt = _time.GetUtcNow() }));
                characters += batch.Sum(b => (long)b.Length);
                reportedTokens = tokens is { } t ? (reportedTokens ?? 0) + t : reportedTokens;
            }
        }
        catch (Exception e) when (_transport.Translate(e, model, deadline) is { } failure)
        {
            throw failure;
        }

        // Gemini's Developer API reports no tokens for embeddings (Vertex does): the offline estimate, so usage and cost still count.
        var input = reportedTokens ?? Offline.OfflineReply.Tokens(characters);
        result.Usage = new UsageDetails { InputTokenCount = input, TotalTokenCount = input };
        return result;
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        ProviderServices.Get(this, _metadata, serviceType, serviceKey);

    // The HttpClient belongs to IHttpClientFactory (or the caller); nothing to release here.
    public void Dispose()
    {
    }

    private async Task<(List<float[]> Vectors, long? Tokens)> EmbedOneAsync(string model, string text, int? dimensions, Deadline deadline)
    {
        var root = await PostAsync(model, "embedContent", Request(model, text, dimensions, named: false), deadline);
        return ([Values(root.TryGetProperty("embedding", out var embedding) ? embedding : default, model)], Tokens(root));
    }

    private async Task<(List<float[]> Vectors, long? Tokens)> EmbedManyAsync(string model, List<string> texts, int? dimensions, Deadline deadline)
    {
        var body = new JsonObject { ["requests"] = new JsonArray([.. texts.Select(t => Request(model, t, dimensions, named: true))]) };
        var root = await PostAsync(model, "batchEmbedContents", body, deadline);
        var embeddings = root.TryGetProperty("embeddings", out var list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().Select(e => Values(e, model)).ToList()
            : throw Invalid(model, "no embeddings array");
        return (embeddings, Tokens(root));
    }

    // EmbedContentRequest; inside a batch each names its model ("models/…").
    private static JsonObject Request(string model, string text, int? dimensions, bool named)
    {
        var request = new JsonObject();
        if (named)
        {
            request["model"] = "models/" + model;
        }

        request["content"] = new JsonObject { ["parts"] = new JsonArray(new JsonObject { ["text"] = text }) };
        if (dimensions is { } d)
        {
            request["outputDimensionality"] = d;
        }

        return request;
    }

    private async Task<JsonElement> PostAsync(string model, string action, JsonObject body, Deadline deadline)
    {
        using var response = await _transport.SendAsync(model, action, body, deadline);
        var json = await response.Content.ReadAsStringAsync(deadline.Token);
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(json);
            root = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw _transport.Logged(new ModelProviderException($"gemini model '{model}' answered with a body that is not JSON: {e.Message}",
                ProviderNames.Gemini, model, ModelFailureKind.InvalidResponse, innerException: e));
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            throw Invalid(model, "not a JSON object");
        }

        return root.TryGetProperty("error", out var error) ? throw _transport.Logged(_transport.ErrorInBody(error, model)) : root;
    }

    // ContentEmbedding: { "values": [numbers] }.
    private float[] Values(JsonElement embedding, string model)
    {
        if (embedding.ValueKind != JsonValueKind.Object || !embedding.TryGetProperty("values", out var values)
            || values.ValueKind != JsonValueKind.Array || values.GetArrayLength() == 0)
        {
            throw Invalid(model, "an embedding without values");
        }

        var vector = new float[values.GetArrayLength()];
        var i = 0;
        foreach (var value in values.EnumerateArray())
        {
            vector[i++] = value.ValueKind == JsonValueKind.Number && value.TryGetSingle(out var f) && float.IsFinite(f)
                ? f
                : throw Invalid(model, "a value that is not a finite number");
        }

        return vector;
    }

    // Vertex-style usage, when an endpoint reports it: usageMetadata.promptTokenCount.
    private static long? Tokens(JsonElement root) =>
        root.TryGetProperty("usageMetadata", out var usage) && usage.ValueKind == JsonValueKind.Object
        && usage.TryGetProperty("promptTokenCount", out var tokens) && tokens.TryGetInt64(out var count) && count >= 0
            ? count
            : null;

    private ModelProviderException Invalid(string model, string what) => _transport.Logged(new ModelProviderException(
        $"gemini model '{model}' answered with {what}.", ProviderNames.Gemini, model, ModelFailureKind.InvalidResponse));
}
