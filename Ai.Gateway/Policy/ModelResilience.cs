using System.Collections.Concurrent;
using Ai.Gateway.Providers;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace Ai.Gateway.Policy;

/// <summary>
/// One Polly pipeline per model, outermost first: retry (transient failures only, honouring the
/// provider's RetryInfo / Retry-After, never past <see cref="GatewayPolicyOptions.MaxRetryDelay"/>)
/// → circuit breaker (opens on a model that keeps failing; its state is shown by GET /v1/models)
/// → attempt timeout.
/// </summary>
public sealed class ModelResilience(IOptions<GatewayPolicyOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, (ResiliencePipeline Pipeline, CircuitBreakerStateProvider State)> _models = new(StringComparer.Ordinal);

    public ResiliencePipeline Pipeline(string model) => Get(model).Pipeline;

    /// <summary>closed, open, half-open or isolated.</summary>
    public string CircuitState(string model) => _models.TryGetValue(model, out var entry)
        ? entry.State.CircuitState switch
        {
            Polly.CircuitBreaker.CircuitState.Open => "open",
            Polly.CircuitBreaker.CircuitState.HalfOpen => "half-open",
            Polly.CircuitBreaker.CircuitState.Isolated => "isolated",
            _ => "closed",
        }
        : "closed";

    public bool IsOpen(string model) =>
        _models.TryGetValue(model, out var entry) && entry.State.CircuitState is Polly.CircuitBreaker.CircuitState.Open or Polly.CircuitBreaker.CircuitState.Isolated;

    /// <summary>Whether a failure is worth another try of the same model.</summary>
    public static bool IsTransient(Exception exception, TimeSpan maxRetryDelay) => exception switch
    {
        ModelProviderException e => e.IsRetryable && (e.RetryAfter is null || e.RetryAfter <= maxRetryDelay),
        TimeoutRejectedException => true,
        _ => false,
    };

    private (ResiliencePipeline Pipeline, CircuitBreakerStateProvider State) Get(string model) => _models.GetOrAdd(model, _ =>
    {
        var policy = options.Value;
        var state = new CircuitBreakerStateProvider();
        var pipeline = new ResiliencePipelineBuilder { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = Math.Max(policy.MaxRetries, 1),
                ShouldHandle = args => ValueTask.FromResult(policy.MaxRetries > 0
                    && args.Outcome.Exception is { } e && IsTransient(e, policy.MaxRetryDelay)),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = policy.RetryBaseDelay,
                MaxDelay = policy.MaxRetryDelay,
                DelayGenerator = args => ValueTask.FromResult(
                    args.Outcome.Exception is ModelProviderException { RetryAfter: { } retryAfter } ? retryAfter : (TimeSpan?)null),
            })
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = policy.BreakerFailureRatio,
                MinimumThroughput = policy.BreakerMinimumThroughput,
                SamplingDuration = policy.BreakerSamplingDuration,
                BreakDuration = policy.BreakerBreakDuration,
                StateProvider = state,
                // Only failures that say "this model is unhealthy" count; a bad request or a
                // per-minute 429 does not.
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is
                    ModelProviderException { Kind: ModelFailureKind.Transient or ModelFailureKind.Timeout or ModelFailureKind.InvalidResponse }
                    or TimeoutRejectedException),
            })
            .AddTimeout(policy.AttemptTimeout)
            .Build();
        return (pipeline, state);
    });
}
