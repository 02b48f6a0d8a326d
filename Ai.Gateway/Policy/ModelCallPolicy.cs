using System.Diagnostics;
using Ai.Gateway.Model;
using Ai.Gateway.Providers;
using Ai.Gateway.Usage;
using Communication.Bus.RateLimiting;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace Ai.Gateway.Policy;

/// <summary>
/// The steps of the one policy that do not depend on what is asked of a model, shared by chat
/// (<see cref="GatewayChatClient"/>) and embeddings (<see cref="GatewayEmbeddingGenerator"/>): for the requested
/// model and then each model of its fallback chain, skip it if its circuit is open; take a token from its rate
/// limit, shared by every replica (waiting up to <see cref="GatewayPolicyOptions.RateLimitWait"/>); call its
/// provider through its Polly pipeline (retries for transient failures only, circuit breaker, attempt timeout).
/// The first answer wins; every try is recorded in the <see cref="GatewayCallContext"/>, the answer's tokens and
/// cost in usage.
/// </summary>
public sealed partial class ModelCallPolicy(
    ModelCatalog catalog,
    IModelProviderRegistry providers,
    ModelResilience resilience,
    IDistributedTokenBucket buckets,
    UsageRecorder usage,
    IOptions<GatewayPolicyOptions> options,
    TimeProvider time,
    ILoggerFactory loggers)
{
    private readonly ILogger _logger = loggers.CreateLogger<GatewayChatClient>();

    /// <summary>The model, then its fallbacks in order.</summary>
    public IReadOnlyList<ModelDefinition> Chain(string model) => catalog.Chain(model);

    /// <summary>A record of the chain's failures, for the exception when no model answers.</summary>
    public ChainFailures NewFailures() => new(() => DailyQuotaReset.After(time.GetUtcNow(), options.Value.DailyQuotaTimeZone));

    /// <summary>
    /// Calls the chain's models in turn until one answers; <paramref name="usageOf"/> reads the tokens of the answer.
    /// </summary>
    /// <exception cref="AllModelsFailedException">No model of the chain answered.</exception>
    public async Task<T> RunAsync<T>(IReadOnlyList<ModelDefinition> chain, GatewayCallContext context,
        Func<ModelDefinition, CancellationToken, Task<T>> call, Func<T, UsageDetails?> usageOf, CancellationToken cancellationToken)
    {
        var failures = NewFailures();
        for (var i = 0; i < chain.Count; i++)
        {
            var model = chain[i];
            try
            {
                var result = await AttemptAsync(model, context, ct => call(model, ct), cancellationToken);
                Answered(chain, i, model, usageOf(result), context);
                return result;
            }
            catch (Exception ex) when (IsModelFailure(ex, cancellationToken))
            {
                Failed(model, ex, failures, context);
                if (!MayFallBack(ex))
                {
                    break;
                }
            }
        }

        throw failures.ToException(context);
    }

    /// <summary>One model, through its Polly pipeline: every try waits for a rate-limit token and is recorded.</summary>
    public async Task<T> AttemptAsync<T>(ModelDefinition model, GatewayCallContext context, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken) =>
        await resilience.Pipeline(model.Id).ExecuteAsync(
            async ct => await CallAsync(model, context, cancellationToken, () => call(ct), ct),
            cancellationToken);

    /// <summary>Records a model's failure (a skipped circuit as an attempt of its own) and counts it.</summary>
    public void Failed(ModelDefinition model, Exception ex, ChainFailures failures, GatewayCallContext context)
    {
        if (ex is BrokenCircuitException)
        {
            // Polly refused the call without running it: the model failed too often lately. It lets
            // one trial call through once the break is over.
            context.Record(new AttemptRecord(model.Id, providers.ServingProvider(model), AttemptRecord.CircuitOpen, 0,
                "The model's circuit is open after repeated failures; skipped."));
        }

        failures.Add(model, ex);
        usage.RecordFailure(model.Id);
    }

    /// <summary>Books an answer: the model that gave it, its tokens and cost, and a fallback when it was not the first.</summary>
    public void Answered(IReadOnlyList<ModelDefinition> chain, int index, ModelDefinition model, UsageDetails? details, GatewayCallContext context)
    {
        var offline = providers.ServingProvider(model) == ProviderNames.Offline;
        var tokens = TokenUsage.From(details);
        var cost = offline ? 0m : ModelCatalog.Cost(model, tokens);
        // Report the catalog id (what callers route by), or "offline" when no provider was called.
        var name = offline ? ProviderNames.Offline : model.Id;
        context.Answered(name, isFallback: index > 0, tokens, cost);
        usage.RecordAnswer(name, tokens, cost);
        if (index > 0)
        {
            usage.RecordFallback(chain[0].Id);
        }
    }

    // A prompt a safety filter refused goes to the next model only when the operator asked for it.
    public bool MayFallBack(Exception ex) =>
        ex is not ModelProviderException { Kind: ModelFailureKind.ContentBlocked } || options.Value.FallbackOnSafetyBlock;

    public static bool IsModelFailure(Exception ex, CancellationToken cancellationToken) =>
        !cancellationToken.IsCancellationRequested
        && ex is ModelProviderException or ModelRateLimitedException or BrokenCircuitException or TimeoutRejectedException or IsolatedCircuitException;

    /// <summary>One try: wait for a rate-limit token, call the provider, record the outcome.</summary>
    private async Task<T> CallAsync<T>(ModelDefinition model, GatewayCallContext context, CancellationToken caller, Func<Task<T>> call, CancellationToken cancellationToken)
    {
        var provider = providers.ServingProvider(model);
        var decision = await buckets.AcquireAsync(ModelCatalog.BucketName(model), catalog.RuleFor(model), 1,
            options.Value.RateLimitWait, cancellationToken);
        if (!decision.Allowed)
        {
            context.Record(new AttemptRecord(model.Id, provider, AttemptRecord.RateLimited, 0,
                decision.DailyQuotaExhausted ? "Daily quota used up." : $"No rate-limit token within {options.Value.RateLimitWait.TotalMilliseconds} ms."));
            usage.RecordDenial(model.Id);
            throw new ModelRateLimitedException(model.Id, decision);
        }

        var started = time.GetTimestamp();
        try
        {
            var result = await call();
            // A block is the model's answer, not a failure of the model: the policy decides whether to fall back.
            // A stream is checked at its first update (a blocked prompt), before anything reached the caller.
            if ((result switch { ChatResponse response => ContentBlock.Find(response), OpenStream stream => ContentBlock.Find(stream.Current), _ => null }) is { } block)
            {
                if (result is OpenStream open)
                {
                    await open.DisposeAsync();
                }

                throw block.ToException(provider, model.Id);
            }

            context.Record(new AttemptRecord(model.Id, provider, AttemptRecord.Succeeded, Elapsed(started)));
            return result;
        }
        catch (Exception ex) when (!caller.IsCancellationRequested)
        {
            // A cancellation the caller did not ask for is the attempt timeout firing.
            var timedOut = ex is OperationCanceledException or TimeoutRejectedException;
            var failure = ex as ModelProviderException;
            context.Record(new AttemptRecord(model.Id, provider, AttemptRecord.Failed, Elapsed(started),
                timedOut ? $"No answer within {options.Value.AttemptTimeout.TotalSeconds} s." : ex.Message,
                failure?.Kind.ToString() ?? (timedOut ? nameof(ModelFailureKind.Timeout) : null),
                failure?.StatusCode is { } status ? (int)status : null));
            LogAttemptFailed(_logger, model.Id, failure?.Kind.ToString() ?? ex.GetType().Name);
            throw;
        }
    }

    private long Elapsed(long started) => (long)time.GetElapsedTime(started).TotalMilliseconds;

    /// <param name="untilQuotaReset">How long until the providers' per-day quotas reset.</param>
    public sealed class ChainFailures(Func<TimeSpan> untilQuotaReset)
    {
        private Exception? _last;
        private TimeSpan? _retryAfter;
        private RateLimitDecision? _primaryLimit;

        public void Add(ModelDefinition model, Exception ex)
        {
            _last = ex;
            var wait = ex switch
            {
                ModelRateLimitedException limited => limited.Decision.DailyQuotaExhausted ? limited.Decision.DailyResetAfter : limited.Decision.RetryAfter,
                // A provider's per-day quota: its RetryInfo (if any) is no promise; the quota is back at the reset.
                ModelProviderException { Kind: ModelFailureKind.QuotaExhausted } => untilQuotaReset(),
                ModelProviderException { RetryAfter: { } after } => after,
                _ => null,
            };
            if (wait is { } w && (_retryAfter is null || w < _retryAfter))
            {
                _retryAfter = w;
            }

            if (ex is ModelRateLimitedException first && _primaryLimit is null)
            {
                _primaryLimit = first.Decision;
            }

            Activity.Current?.AddEvent(new ActivityEvent("gateway.model_failed", tags: new ActivityTagsCollection
            {
                ["gen_ai.request.model"] = model.Id,
                ["error.type"] = ex.GetType().Name,
            }));
        }

        public AllModelsFailedException ToException(GatewayCallContext context) =>
            new(context.Attempts, _last) { RetryAfter = _retryAfter, PrimaryLimit = _primaryLimit };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A call to model {Model} failed ({Kind}).")]
    private static partial void LogAttemptFailed(ILogger logger, string model, string kind);
}
