using System.Text;
using Microsoft.Extensions.AI;

namespace Ai.Gateway.Providers.Offline;

/// <summary>
/// Deterministic embeddings with no network or key: each text's words and their character trigrams are hashed
/// (FNV-1a, 64 bit) into a signed bucket of the vector (the "hashing trick"), which is then scaled to length 1.
/// The same text always gives the same vector, on every machine; texts that share words and word parts are
/// close under cosine similarity, so search and clustering code can be tested offline. No meaning is modelled.
/// </summary>
public sealed class OfflineEmbeddingGenerator(int defaultDimensions = OfflineEmbeddingGenerator.DefaultDimensions, TimeProvider? timeProvider = null)
    : IEmbeddingGenerator<string, Embedding<float>>
{
    /// <summary>The vector length when neither the request nor the model says one.</summary>
    public const int DefaultDimensions = 256;

    private const float WordWeight = 1f;
    private const float TrigramWeight = 0.5f;
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;
    private readonly EmbeddingGeneratorMetadata _metadata = new(OfflineChatClient.ProviderName, null, OfflineChatClient.ModelName, defaultDimensions);

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        cancellationToken.ThrowIfCancellationRequested();
        var dimensions = options?.Dimensions ?? defaultDimensions;
        ArgumentOutOfRangeException.ThrowIfLessThan(dimensions, 1, nameof(options));

        var result = new GeneratedEmbeddings<Embedding<float>>();
        long characters = 0;
        foreach (var text in values)
        {
            result.Add(new Embedding<float>(Vector(text ?? "", dimensions)) { ModelId = OfflineChatClient.ModelName, CreatedAt = _time.GetUtcNow() });
            characters += text?.Length ?? 0;
        }

        var tokens = OfflineReply.Tokens(characters);
        result.Usage = new UsageDetails { InputTokenCount = tokens, TotalTokenCount = tokens };
        return Task.FromResult(result);
    }

    /// <summary>The unit vector of <paramref name="text"/> with <paramref name="dimensions"/> components.</summary>
    public static float[] Vector(string text, int dimensions)
    {
        ArgumentNullException.ThrowIfNull(text);
        var vector = new float[dimensions];
        var any = false;
        foreach (var word in Words(text))
        {
            Add(vector, word, WordWeight);
            var padded = $"<{word}>";
            for (var i = 0; i + 3 <= padded.Length; i++)
            {
                Add(vector, padded.AsSpan(i, 3), TrigramWeight);
            }

            any = true;
        }

        if (!any)
        {
            // Only spaces or punctuation: the text itself is the one feature, so the vector is still unit length.
            Add(vector, text, WordWeight);
        }

        var norm = MathF.Sqrt(vector.Sum(v => v * v));
        if (norm == 0)
        {
            // Features that cancelled out (possible with very few dimensions): still a unit vector.
            vector[0] = norm = 1;
        }

        for (var i = 0; i < vector.Length; i++)
        {
            vector[i] /= norm;
        }

        return vector;
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        ProviderServices.Get(this, _metadata, serviceType, serviceKey);

    public void Dispose()
    {
    }

    // Letters and digits in runs, lower-cased the same way in every culture.
    private static IEnumerable<string> Words(string text)
    {
        var word = new StringBuilder();
        foreach (var rune in text.EnumerateRunes())
        {
            if (Rune.IsLetterOrDigit(rune))
            {
                word.Append(Rune.ToLowerInvariant(rune).ToString());
            }
            else if (word.Length > 0)
            {
                yield return word.ToString();
                word.Clear();
            }
        }

        if (word.Length > 0)
        {
            yield return word.ToString();
        }
    }

    private static void Add(float[] vector, ReadOnlySpan<char> feature, float weight)
    {
        var hash = Fnv1a(feature);
        var index = (int)(hash % (ulong)vector.Length);
        vector[index] += (hash >> 63) == 0 ? weight : -weight;
    }

    private static ulong Fnv1a(ReadOnlySpan<char> text)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in text)
        {
            hash = (hash ^ (c & 0xFFu)) * 1099511628211UL;
            hash = (hash ^ ((uint)c >> 8)) * 1099511628211UL;
        }

        return hash;
    }
}
