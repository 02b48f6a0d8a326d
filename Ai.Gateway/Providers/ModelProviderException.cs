using System.Net;

namespace Ai.Gateway.Providers;

/// <summary>
/// The one error type every provider client throws, so the policy layer can decide retries and
/// fallback without knowing which provider failed. Clients never retry on their own.
/// </summary>
public sealed class ModelProviderException : Exception
{
    public ModelProviderException(
        string message,
        string provider,
        string? model,
        ModelFailureKind kind,
        HttpStatusCode? statusCode = null,
        string? providerStatus = null,
        TimeSpan? retryAfter = null,
        Exception? innerException = null)
        : base(message, innerException)
    {
        Provider = provider;
        Model = model;
        Kind = kind;
        StatusCode = statusCode;
        ProviderStatus = providerStatus;
        RetryAfter = retryAfter;
    }

    /// <summary><c>gemini</c>, <c>openai</c> or <c>offline</c>.</summary>
    public string Provider { get; }

    public string? Model { get; }

    public ModelFailureKind Kind { get; }

    /// <summary>The HTTP status, when the failure came with one (not for network failures or timeouts).</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>The provider's own status word, e.g. <c>RESOURCE_EXHAUSTED</c> or an OpenAI error code.</summary>
    public string? ProviderStatus { get; }

    /// <summary>How long the provider asked us to wait (Gemini RetryInfo, or a Retry-After header).</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>True only for failures another attempt may cure: transient, rate limited, timed out.</summary>
    public bool IsRetryable => Kind is ModelFailureKind.Transient or ModelFailureKind.RateLimited or ModelFailureKind.Timeout;
}
