using System.Runtime.InteropServices;
using System.Text.Json;
using Ai.Gateway.Generation;
using Ai.Gateway.Model;
using Ai.Gateway.OpenAICompat;
using Ai.Gateway.Policy;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace Ai.Gateway.Embeddings;

/// <summary>A checked embeddings request: the texts, the routed model and what the answer should look like.</summary>
public sealed record EmbeddingCall(IReadOnlyList<string> Inputs, ModelRouter.Decision Route, int? Dimensions, bool Base64);

/// <summary>
/// <c>POST /v1/embeddings</c>: checks an OpenAI embeddings request (every problem with its field, so a bad request never
/// reaches a provider) and runs it through <see cref="GatewayEmbeddingGenerator"/> with a <see cref="GatewayCallContext"/>
/// that records attempts, usage and cost, bounded by <c>Gateway:Policy:TotalTimeout</c>.
/// </summary>
public sealed class EmbeddingsService(
    GatewayEmbeddingGenerator gateway,
    ModelCatalog catalog,
    IOptions<EmbeddingsOptions> limits,
    IOptions<GatewayPolicyOptions> options,
    TimeProvider time)
{
    /// <summary>The most <c>dimensions</c> a request may ask of a model whose own is not configured.</summary>
    public const int MaxDimensions = 16_384;

    /// <exception cref="ChatRequestException">The request is invalid.</exception>
    public EmbeddingCall Prepare(EmbeddingRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var errors = new List<FieldError>();
        var inputs = Inputs(request.Input, errors);
        var route = Route(request.Model, errors);

        var most = route is not null && catalog.Find(route.Model)?.Dimensions is { } own ? own : MaxDimensions;
        if (request.Dimensions is < 1 || request.Dimensions > most)
        {
            errors.Add(new("dimensions", $"dimensions must be between 1 and {most} for this model."));
        }

        if (request.EncodingFormat is not (null or "float" or "base64"))
        {
            errors.Add(new("encoding_format", "encoding_format must be 'float' or 'base64'.", OpenAIErrors.UnsupportedValue));
        }

        return errors.Count > 0
            ? throw new ChatRequestException(errors)
            : new EmbeddingCall(inputs, route!, request.Dimensions, request.EncodingFormat == "base64");
    }

    public async Task<EmbeddingList> CreateAsync(EmbeddingCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var started = time.GetTimestamp();
        var context = new GatewayCallContext();
        var generation = new EmbeddingGenerationOptions { ModelId = call.Route.Model, Dimensions = call.Dimensions };
        context.Attach(generation);

        using var total = time.StartDeadline(options.Value.TotalTimeout, cancellationToken);
        GeneratedEmbeddings<Embedding<float>> embeddings;
        try
        {
            embeddings = await gateway.GenerateAsync(call.Inputs, generation, total.Token);
        }
        catch (OperationCanceledException) when (total.HasExpired)
        {
            throw new GatewayTimeoutException(options.Value.TotalTimeout);
        }

        var data = embeddings.Select((e, i) => new EmbeddingItem(i, call.Base64 ? Base64(e.Vector) : e.Vector.ToArray())).ToList();
        return new EmbeddingList(data, context.AnsweredBy ?? call.Route.Model,
            new EmbeddingUsage(context.Usage.InputTokens, context.Usage.TotalTokens),
            new GatewayExtras(context.Attempts, context.Fallbacks, decimal.Round(context.CostUsd, 8),
                new GatewayRoute(call.Route.Model, call.Route.Reason), (long)time.GetElapsedTime(started).TotalMilliseconds));
    }

    // OpenAI's base64 encoding: the float32 values' little-endian bytes.
    private static string Base64(ReadOnlyMemory<float> vector)
    {
        var bytes = MemoryMarshal.AsBytes(vector.Span).ToArray();
        if (!BitConverter.IsLittleEndian)
        {
            for (var i = 0; i < bytes.Length; i += sizeof(float))
            {
                Array.Reverse(bytes, i, sizeof(float));
            }
        }

        return Convert.ToBase64String(bytes);
    }

    private List<string> Inputs(JsonElement? input, List<FieldError> errors)
    {
        var texts = new List<string>();
        switch (input)
        {
            case null or { ValueKind: JsonValueKind.Null }:
                errors.Add(new("input", "input is required: a string or an array of strings.", OpenAIErrors.MissingParameter));
                return texts;
            case { ValueKind: JsonValueKind.String } one:
                Add(one, "input");
                break;
            case { ValueKind: JsonValueKind.Array } many:
                var items = many;
                if (items.GetArrayLength() == 0)
                {
                    errors.Add(new("input", "input must hold at least one string."));
                }
                else if (items.GetArrayLength() > limits.Value.MaxInputs)
                {
                    errors.Add(new("input", $"input holds {items.GetArrayLength()} texts; at most {limits.Value.MaxInputs} (Gateway:Embeddings:MaxInputs)."));
                    return texts;
                }

                var i = 0;
                foreach (var item in items.EnumerateArray())
                {
                    if (item.ValueKind is JsonValueKind.Number or JsonValueKind.Array)
                    {
                        errors.Add(new("input", "Token arrays are not supported: send the text (a string or an array of strings).", OpenAIErrors.UnsupportedValue));
                        return texts;
                    }

                    Add(item, $"input[{i++}]");
                }

                break;
            default:
                errors.Add(new("input", "input must be a string or an array of strings."));
                break;
        }

        return texts;

        void Add(JsonElement item, string path)
        {
            var text = item.ValueKind == JsonValueKind.String ? item.GetString() : null;
            if (text is null)
            {
                errors.Add(new(path, $"{path} must be a string."));
            }
            else if (string.IsNullOrWhiteSpace(text))
            {
                errors.Add(new(path, $"{path} must not be empty."));
            }
            else if (text.Length > limits.Value.MaxInputCharacters)
            {
                errors.Add(new(path, $"{path} has {text.Length} characters; at most {limits.Value.MaxInputCharacters} (Gateway:Embeddings:MaxInputCharacters)."));
            }
            else
            {
                texts.Add(text);
            }
        }
    }

    private ModelRouter.Decision? Route(string? model, List<FieldError> errors)
    {
        var embeddingModels = string.Join(", ", catalog.Models.Where(m => m.Kind == ModelKind.Embedding).Select(m => m.Id)) is { Length: > 0 } ids
            ? ids
            : "(none is configured: Gateway:Models:<id>:Kind Embedding)";
        if (string.IsNullOrEmpty(model) || model == "auto")
        {
            if (catalog.DefaultEmbeddingModel is { Length: > 0 } configured)
            {
                return new ModelRouter.Decision(configured, "default embedding model");
            }

            errors.Add(new("model", $"No default embedding model is configured (Gateway:DefaultEmbeddingModel); name one of: {embeddingModels}.",
                OpenAIErrors.MissingParameter));
            return null;
        }

        if (catalog.Find(model) is not { } known)
        {
            errors.Add(new("model", $"The model '{model}' does not exist. Use 'auto' or one of: {embeddingModels}.", OpenAIErrors.ModelNotFound));
            return null;
        }

        if (ModelCatalog.WrongKind(known, ModelKind.Embedding) is { } wrongKind)
        {
            errors.Add(new("model", wrongKind, OpenAIErrors.WrongModelKind));
            return null;
        }

        return new ModelRouter.Decision(model, "model named in the request");
    }
}
