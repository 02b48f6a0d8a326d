using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Ai.Gateway.Providers.OpenAI;

/// <summary>
/// Any OpenAI-compatible chat-completions endpoint (configuration section <c>OpenAI</c>): OpenAI itself,
/// Ollama (<c>http://localhost:11434/v1/</c>), vLLM, or Gemini's compatibility URL
/// (<c>https://generativelanguage.googleapis.com/v1beta/openai/</c>).
/// </summary>
public sealed class OpenAIOptions
{
    public const string SectionName = "OpenAI";

    /// <summary>Base URL; null means api.openai.com.</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>Sent as a bearer token. Local servers (Ollama, vLLM) may need none.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Longest wait for a unary answer, and for the headers and each read of a stream.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Live when a key or an endpoint is configured; otherwise <c>openai</c> models are served offline.</summary>
    public bool IsConfigured => !string.IsNullOrWhiteSpace(ApiKey) || Endpoint is not null;
}

[OptionsValidator]
public sealed partial class OpenAIOptionsValidator : IValidateOptions<OpenAIOptions>;
