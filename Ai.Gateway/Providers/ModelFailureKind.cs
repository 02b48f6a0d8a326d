namespace Ai.Gateway.Providers;

/// <summary>Why a model call failed, in the terms the policy layer decides on (retry, fall back, give up).</summary>
public enum ModelFailureKind
{
    /// <summary>5xx or a network failure: worth another attempt.</summary>
    Transient,

    /// <summary>429 against a per-minute (or unspecified) limit: retry after <see cref="ModelProviderException.RetryAfter"/>.</summary>
    RateLimited,

    /// <summary>429 against a per-day quota: no point retrying today; fall back.</summary>
    QuotaExhausted,

    /// <summary>The configured request timeout elapsed (not the caller's cancellation).</summary>
    Timeout,

    /// <summary>400 and other 4xx: the request itself is wrong; retrying the same request fails the same way.</summary>
    InvalidRequest,

    /// <summary>401/403, or a key the provider reports as invalid.</summary>
    Unauthorized,

    /// <summary>404: usually a retired or misspelled model id; fall back.</summary>
    NotFound,

    /// <summary>The provider refused the content on safety grounds.</summary>
    ContentBlocked,

    /// <summary>A 2xx answer the client could not read (malformed JSON, unexpected shape).</summary>
    InvalidResponse,
}
