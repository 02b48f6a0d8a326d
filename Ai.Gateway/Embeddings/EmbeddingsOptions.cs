using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Ai.Gateway.Embeddings;

/// <summary>Bounds of one <c>POST /v1/embeddings</c> request (configuration section <c>Gateway:Embeddings</c>).</summary>
public sealed class EmbeddingsOptions
{
    public const string SectionName = "Gateway:Embeddings";

    /// <summary>The most texts in one request's <c>input</c> (OpenAI's own limit is 2048).</summary>
    [Range(1, 2048)]
    public int MaxInputs { get; set; } = 256;

    /// <summary>The most characters (UTF-16 code units) in one text.</summary>
    [Range(1, 1_000_000)]
    public int MaxInputCharacters { get; set; } = 32_768;
}

[OptionsValidator]
public sealed partial class EmbeddingsOptionsValidator : IValidateOptions<EmbeddingsOptions>;
