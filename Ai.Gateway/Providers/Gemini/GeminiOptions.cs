using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Ai.Gateway.Providers.Gemini;

/// <summary>The Gemini Developer API (configuration section <c>Gemini</c>).</summary>
public sealed class GeminiOptions
{
    public const string SectionName = "Gemini";

    /// <summary>Sent as <c>x-goog-api-key</c>. Empty: <c>gemini</c> models are served by the offline provider.</summary>
    public string? ApiKey { get; set; }

    [Required]
    public Uri Endpoint { get; set; } = new("https://generativelanguage.googleapis.com/");

    [Required, RegularExpression("^v[0-9][a-z0-9]*$")]
    public string ApiVersion { get; set; } = "v1beta";

    /// <summary>
    /// Longest wait for a unary answer, and for the headers and each event of a stream (a healthy
    /// long stream is not cut off). Thinking models can take minutes, hence the generous default.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromMinutes(5);

    public bool HasApiKey => !string.IsNullOrWhiteSpace(ApiKey);
}

[OptionsValidator]
public sealed partial class GeminiOptionsValidator : IValidateOptions<GeminiOptions>;
