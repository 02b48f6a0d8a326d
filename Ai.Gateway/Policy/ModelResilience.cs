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
/// → circuit breaker (opens on a model that keeps failing; its state is shown by GET /v1/gateway/models)
/// → attempt timeout.
/// </summary>
public sealed class ModelResilience(IOptions<GatewayPolicyOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Entry> _models = new(StringComparer.Ordinal);

    private sealed record Entry(ResiliencePipeline Pipeline, CircuitBreakerStateProvider State)
    {
        public DateTimeOffset OpenedAt { get; set; }
    }

    public ResiliencePipeline Pipeline(string model) => Get(model).Pipeline;

    /// <summary>
    /// closed, open, half-open or isolated. An open circuit whose break is over shows as half-open:
    /// the next call is its trial.
    /// </summary>
    public string CircuitState(string model) => _models.TryGetValue(model, out var entry)
        ? entry.State.CircuitState switch
        {
            Polly.CircuitBreaker.CircuitState.Open when time.GetUtcNow() - entry.OpenedAt >= options.Value.BreakerBreakDuration => "half-open",
            Polly.CircuitBreaker.CircuitState.Open => "open",
            Polly.CircuitBreaker.CircuitState.HalfOpen => "half-open",
            Polly.CircuitBreaker.CircuitState.Isolated => "isolated",
            _ => "closed",
        }
        : "closed";

    /// <summary>Whether a failure is worth another try of the same model.</summary>
    public static bool IsTransient(Exception exception, TimeSpan maxRetryDelay) => exception switch
    {
        ModelProviderException e => e.IsRetryable && (e.RetryAfter is null || e.RetryAfter <= maxRetryDelay),
        TimeoutRejectedException => true,
        _ => false,
    };

    private Entry Get(string model) => _models.GetOrAdd(model, _ =>
    {
        var policy = options.Value;
        var state = new CircuitBreakerStateProvider();
        Entry? entry = null;
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
                OnOpened = _ =>
                {
                    entry!.OpenedAt = time.GetUtcNow();
                    return ValueTask.CompletedTask;
                },
                // Only failures that say "this model is unhealthy" count; a bad request or a
                // per-minute 429 does not.
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is
                    ModelProviderException { Kind: ModelFailureKind.Transient or ModelFailureKind.Timeout or ModelFailureKind.InvalidResponse }
                    or TimeoutRejectedException),
            })
            .AddTimeout(policy.AttemptTimeout)
            .Build();
        return entry = new Entry(pipeline, state);
    });
}
