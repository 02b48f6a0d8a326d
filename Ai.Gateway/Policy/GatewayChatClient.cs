using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Ai.Gateway.Model;
using Ai.Gateway.Providers;
using Ai.Gateway.Usage;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace Ai.Gateway.Policy;

/// <summary>
/// Chat through the one policy every model call goes through (<see cref="ModelCallPolicy"/>): for the requested
/// model and then each model of its fallback chain, circuit, shared rate limit, Polly pipeline; the first answer
/// wins; every try is recorded in the <see cref="GatewayCallContext"/>. Streams fall back only before their first update.
/// </summary>
public sealed partial class GatewayChatClient(
    ModelCatalog catalog,
    IModelProviderRegistry providers,
    ModelCallPolicy policy,
    UsageRecorder usage,
    IOptions<GatewayPolicyOptions> options,
    TimeProvider time,
    ILoggerFactory loggers) : IChatClient
{
    public const string TelemetrySource = "Ai.Gateway";

    private static readonly ActivitySource Activities = new(TelemetrySource);
    private readonly ConcurrentDictionary<string, IChatClient> _clients = new(StringComparer.Ordinal);
    private readonly ILogger _logger = loggers.CreateLogger<GatewayChatClient>();

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? chatOptions = null, CancellationToken cancellationToken = default)
    {
        var (context, chain, history) = Begin(messages, chatOptions);
        return policy.RunAsync(chain, context,
            (model, ct) => ClientFor(model).GetResponseAsync(history, ForModel(chatOptions, model, providers.ServingProvider(model)), ct),
            response => response.Usage, cancellationToken);
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? chatOptions = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (context, chain, history) = Begin(messages, chatOptions);
        var failures = policy.NewFailures();

        for (var i = 0; i < chain.Count; i++)
        {
            var model = chain[i];

            // The policy covers opening the stream and its first update, bounded by the attempt timeout
            // (Polly's token cancels the stream's own source until then); after that the answer is
            // committed to this model (tokens reached the caller), and silence is bounded by the idle timeout.
            OpenStream? stream = null;
            try
            {
                stream = await policy.AttemptAsync(model, context, ct => OpenAsync(ClientFor(model), model, history, chatOptions, ct, cancellationToken), cancellationToken);
            }
            catch (Exception ex) when (ModelCallPolicy.IsModelFailure(ex, cancellationToken))
            {
                policy.Failed(model, ex, failures, context);
                if (policy.MayFallBack(ex))
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

                policy.Answered(chain, i, model, streamUsage, context);
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

    private (GatewayCallContext Context, IReadOnlyList<ModelDefinition> Chain, IList<ChatMessage> History) Begin(
        IEnumerable<ChatMessage> messages, ChatOptions? chatOptions) => (
        GatewayCallContext.From(chatOptions) ?? new GatewayCallContext(),
        catalog.Chain(chatOptions?.ModelId ?? catalog.DefaultModel),
        messages as IList<ChatMessage> ?? messages.ToList());

    /// <summary>
    /// Itself, or the ActivitySource of the chat spans: the function-invoking client above asks for it and, without
    /// one, makes no <c>execute_tool</c> span for the tools the model calls.
    /// </summary>
    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(ActivitySource) ? Activities
        : serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }

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

    [LoggerMessage(Level = LogLevel.Warning, Message = "A stream from model {Model} failed after it started ({Kind}).")]
    private static partial void LogStreamFailed(ILogger logger, string model, string kind);
}
