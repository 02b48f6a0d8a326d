using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
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
/// The one policy every model call goes through. For the requested model and then each model of
/// its fallback chain: skip it if its circuit is open; take a token from its rate limit, shared by
/// every replica (waiting up to <see cref="GatewayPolicyOptions.RateLimitWait"/>); call its
/// provider through its Polly pipeline (retries for transient failures only, circuit breaker,
/// attempt timeout). The first answer wins; every try is recorded in the
/// <see cref="GatewayCallContext"/>. Streams fall back only before their first update.
/// </summary>
public sealed partial class GatewayChatClient(
    ModelCatalog catalog,
    IModelProviderRegistry providers,
    ModelResilience resilience,
    IDistributedTokenBucket buckets,
    UsageRecorder usage,
    IOptions<GatewayPolicyOptions> options,
    TimeProvider time,
    ILoggerFactory loggers) : IChatClient
{
    public const string TelemetrySource = "Ai.Gateway";
    private readonly ConcurrentDictionary<string, IChatClient> _clients = new(StringComparer.Ordinal);
    private readonly ILogger _logger = loggers.CreateLogger<GatewayChatClient>();

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? chatOptions = null, CancellationToken cancellationToken = default)
    {
        var (context, chain, history, failures) = Begin(messages, chatOptions);

        for (var i = 0; i < chain.Count; i++)
        {
            var model = chain[i];
            try
            {
                var response = await resilience.Pipeline(model.Id).ExecuteAsync(
                    async ct => await CallAsync(model, context, cancellationToken, c => c.GetResponseAsync(history, ForModel(chatOptions, model, providers.ServingProvider(model)), ct), ct),
                    cancellationToken);
                Answered(chain, i, model, response.Usage, context);
                return response;
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

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? chatOptions = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (context, chain, history, failures) = Begin(messages, chatOptions);

        for (var i = 0; i < chain.Count; i++)
        {
            var model = chain[i];

            // The policy covers opening the stream and its first update, bounded by the attempt timeout
            // (Polly's token cancels the stream's own source until then); after that the answer is
            // committed to this model (tokens reached the caller), and silence is bounded by the idle timeout.
            OpenStream? stream = null;
            try
            {
                stream = await resilience.Pipeline(model.Id).ExecuteAsync(
                    async ct => await CallAsync(model, context, cancellationToken, c => OpenAsync(c, model, history, chatOptions, ct, cancellationToken), ct),
                    cancellationToken);
            }
            catch (Exception ex) when (IsModelFailure(ex, cancellationToken))
            {
                Failed(model, ex, failures, context);
                if (MayFallBack(ex))
                {
                    continue;
                }

                break;
            }

            await using (stream)
            {
                UsageDetails? streamUsage = null;
                do
                {
                    var update = stream.Current;
                    foreach (var content in update.Contents.OfType<UsageContent>())
                    {
                        (streamUsage ??= new UsageDetails()).Add(content.Details);
                    }

                    yield return update;
                }
                while (await NextAsync(stream, model, cancellationToken));

                Answered(chain, i, model, streamUsage, context);
            }

            yield break;
        }

        throw failures.ToException(context);
    }

    private async Task<OpenStream> OpenAsync(IChatClient client, ModelDefinition model, IList<ChatMessage> history, ChatOptions? chatOptions,
        CancellationToken attempt, CancellationToken caller)
    {
        var stream = new OpenStream(caller, time, options.Value.StreamIdleTimeout);
        try
        {
            // The enumerator outlives this attempt's token, so it gets the stream's own source, cancelled
            // by the attempt timeout until the first update has arrived.
            using (attempt.Register(stream.Cancel))
            {
                stream.Start(client.GetStreamingResponseAsync(history, ForModel(chatOptions, model, providers.ServingProvider(model)), stream.Token));
                return await stream.MoveNextAsync() ? stream : throw new ModelProviderException(
                    "The stream ended before any update.", providers.ServingProvider(model), model.Id, ModelFailureKind.InvalidResponse);
            }
        }
        catch
        {
            await stream.DisposeAsync();
            throw;
        }
    }

    /// <summary>The next update of a started stream, or false at its end; silence past the idle timeout is a failure.</summary>
    private async Task<bool> NextAsync(OpenStream stream, ModelDefinition model, CancellationToken caller)
    {
        stream.ArmIdleTimer();
        try
        {
            return await stream.MoveNextAsync();
        }
        catch (Exception ex) when (!caller.IsCancellationRequested)
        {
            // After its first update a stream cannot fall back; the failure ends it, counted for the model.
            usage.RecordFailure(model.Id);
            var provider = providers.ServingProvider(model);
            LogStreamFailed(_logger, model.Id, stream.IdleExpired ? nameof(ModelFailureKind.Timeout) : (ex as ModelProviderException)?.Kind.ToString() ?? ex.GetType().Name);
            if (stream.IdleExpired && ex is OperationCanceledException)
            {
                throw new ModelProviderException($"{provider} model '{model.Id}' sent nothing for {options.Value.StreamIdleTimeout.TotalSeconds} s in the middle of its answer.",
                    provider, model.Id, ModelFailureKind.Timeout, innerException: ex);
            }

            throw;
        }
        finally
        {
            stream.DisarmIdleTimer();
        }
    }

    private (GatewayCallContext Context, IReadOnlyList<ModelDefinition> Chain, IList<ChatMessage> History, Failures Failures) Begin(
        IEnumerable<ChatMessage> messages, ChatOptions? chatOptions) => (
        GatewayCallContext.From(chatOptions) ?? new GatewayCallContext(),
        catalog.Chain(chatOptions?.ModelId ?? catalog.DefaultModel),
        messages as IList<ChatMessage> ?? messages.ToList(),
        new Failures(() => DailyQuotaReset.After(time.GetUtcNow(), options.Value.DailyQuotaTimeZone)));

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }

    private void Failed(ModelDefinition model, Exception ex, Failures failures, GatewayCallContext context)
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

    /// <summary>One try: wait for a rate-limit token, call the provider, record the outcome.</summary>
    private async Task<T> CallAsync<T>(ModelDefinition model, GatewayCallContext context, CancellationToken caller, Func<IChatClient, Task<T>> call, CancellationToken cancellationToken)
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
            var result = await call(ClientFor(model));
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

    private void Answered(IReadOnlyList<ModelDefinition> chain, int index, ModelDefinition model, UsageDetails? details, GatewayCallContext context)
    {
        var offline = providers.ServingProvider(model) == ProviderNames.Offline;
        var tokens = TokenUsage.From(details);
        var cost = offline ? 0m : ModelCatalog.Cost(model, tokens);
        // Report the catalog id (what callers route by), or "offline" when no provider was called.
        var name = offline ? OfflineName : model.Id;
        context.Answered(name, isFallback: index > 0, tokens, cost);
        usage.RecordAnswer(name, tokens, cost);
        if (index > 0)
        {
            usage.RecordFallback(chain[0].Id);
        }
    }

    private const string OfflineName = ProviderNames.Offline;

    private IChatClient ClientFor(ModelDefinition model) => _clients.GetOrAdd(model.Id, _ =>
        providers.GetChatClient(model).AsBuilder()
            // Its logger writes the captured content, and every failed call as a Warning with a stack trace (a
            // client hanging up included); the span and the policy's own log already carry failures, so the
            // logger is given only when content capture is on.
            .UseOpenTelemetry(options.Value.CaptureContent ? loggers : null, TelemetrySource, otel => otel.EnableSensitiveData = options.Value.CaptureContent)
            .Build());

    private static ChatOptions ForModel(ChatOptions? chatOptions, ModelDefinition model, string provider)
    {
        var copy = chatOptions?.Clone() ?? new ChatOptions();
        copy.ModelId = model.Id;
        if (provider == ProviderNames.Gemini && copy.AdditionalProperties?.ContainsKey(OpenAICompat.ChatRequestMapping.MinimalReasoningKey) == true
            && model.ThinkingLevels.Contains("MINIMAL", StringComparer.OrdinalIgnoreCase))
        {
            // Gemini's lowest level, on a model that has it: a raw thinkingConfig wins over the one built from Low.
            var caller = copy.RawRepresentationFactory;
            copy.RawRepresentationFactory = client =>
            {
                var raw = caller?.Invoke(client) as System.Text.Json.Nodes.JsonObject ?? [];
                if (raw["generationConfig"] is not System.Text.Json.Nodes.JsonObject config)
                {
                    raw["generationConfig"] = config = [];
                }

                config["thinkingConfig"] = new System.Text.Json.Nodes.JsonObject { ["thinkingLevel"] = "MINIMAL" };
                return raw;
            };
        }

        return copy;
    }

    private long Elapsed(long started) => (long)time.GetElapsedTime(started).TotalMilliseconds;

    // A prompt a safety filter refused goes to the next model only when the operator asked for it.
    private bool MayFallBack(Exception ex) =>
        ex is not ModelProviderException { Kind: ModelFailureKind.ContentBlocked } || options.Value.FallbackOnSafetyBlock;

    private static bool IsModelFailure(Exception ex, CancellationToken cancellationToken) =>
        !cancellationToken.IsCancellationRequested
        && ex is ModelProviderException or ModelRateLimitedException or BrokenCircuitException or TimeoutRejectedException or IsolatedCircuitException;

    /// <param name="untilQuotaReset">How long until the providers' per-day quotas reset.</param>
    private sealed class Failures(Func<TimeSpan> untilQuotaReset)
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "A stream from model {Model} failed after it started ({Kind}).")]
    private static partial void LogStreamFailed(ILogger logger, string model, string kind);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A call to model {Model} failed ({Kind}).")]
    private static partial void LogAttemptFailed(ILogger logger, string model, string kind);
}
