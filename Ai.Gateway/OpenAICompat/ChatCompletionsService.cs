using System.Runtime.CompilerServices;
using System.Text.Json;
using Ai.Gateway.Caching;
using Ai.Gateway.Generation;
using Ai.Gateway.Policy;
using Ai.Gateway.Providers;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace Ai.Gateway.OpenAICompat;

/// <summary>
/// Runs chat completions through the gateway policy (<see cref="GatewayChatClient"/>: fallback chain,
/// shared rate limits, retries, breaker) with a <see cref="GatewayCallContext"/> that records attempts,
/// usage and cost. No function-invocation layer: the model's tool calls go back to the client.
/// JSON answers (json_object, json_schema) are checked, with one repair attempt
/// (<see cref="JsonRepairChatClient"/>), unless streamed.
/// </summary>
public sealed class ChatCompletionsService(
    GatewayChatClient gateway,
    ModelCatalog catalog,
    ModelRouter router,
    IOptions<GatewayPolicyOptions> options,
    TimeProvider time,
    ResponseCache cache)
{
    // Outermost the shared response cache; then the one JSON check and repair step for unary answers (streams pass it as they are).
    private readonly ResponseCacheChatClient _client = new(new JsonRepairChatClient(gateway), cache);

    /// <exception cref="ChatRequestException">The request is invalid.</exception>
    public ChatCompletionCall Prepare(ChatCompletionRequest request, CacheCaller? caller = null)
    {
        var call = ChatRequestMapping.Map(request, catalog, router);
        if (caller?.Mode is { } mode)
        {
            caller.Call = new ResponseCacheCall(mode, caller.Name, "chat");
            caller.Call.Attach(call.Options);
        }

        return call;
    }

    public async Task<ChatCompletion> CompleteAsync(ChatCompletionCall call, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var context = Attach(call);
        if (call.WantsJson)
        {
            JsonAnswer.Ask(call.Options, call.Schema);
        }

        using var total = time.StartDeadline(options.Value.TotalTimeout, cancellationToken);
        try
        {
            var response = await _client.GetResponseAsync(call.Messages, call.Options, total.Token);
            // The JSON itself, without a Markdown fence the model may have put around it.
            var content = JsonAnswer.Of(response) is { } json ? json.Data.GetRawText() : response.Text;

            var calls = Calls(response).Select(c => new ChatCompletionToolCallOut(c.CallId, Function(c))).ToList();
            var answer = new ChatCompletionAnswer(content.Length == 0 && calls.Count > 0 ? null : content, calls.Count > 0 ? calls : null);
            return new ChatCompletion(NewId(), Created(), context.AnsweredBy ?? ResponseCacheCall.From(call.Options)?.HitModel ?? call.Route.Model,
                [new ChatCompletionChoice(0, answer, FinishReason(response.FinishReason, calls.Count > 0))],
                ChatCompletionUsage.From(context.Usage), Extras(call, context, started))
            {
                SystemFingerprint = SystemFingerprint(response.RawRepresentation),
            };
        }
        catch (OperationCanceledException) when (total.HasExpired)
        {
            throw new GatewayTimeoutException(options.Value.TotalTimeout);
        }
        catch (AllModelsFailedException failure) when (failure.ContentBlocked)
        {
            // OpenAI's way to say a filter withheld the answer: finish_reason content_filter, no content.
            return new ChatCompletion(NewId(), Created(), AnsweringModel(context, call.Route.Model),
                [new ChatCompletionChoice(0, new ChatCompletionAnswer(null, null), ContentFilter)],
                ChatCompletionUsage.From(context.Usage), Extras(call, context, started));
        }
    }

    /// <summary>
    /// The chunks of a streamed completion. The first one (the role) comes only after a model has
    /// answered, so a failure before it is an exception from the first MoveNextAsync, not a broken stream.
    /// </summary>
    public async IAsyncEnumerable<ChatCompletionChunk> StreamAsync(ChatCompletionCall call, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var context = Attach(call);
        var (id, created) = (NewId(), Created());
        using var total = time.StartDeadline(options.Value.TotalTimeout, cancellationToken);
        var updates = _client.GetStreamingResponseAsync(call.Messages, call.Options, total.Token).GetAsyncEnumerator(total.Token);
        await using (updates)
        {
            bool opened;
            var blocked = false;
            try
            {
                opened = await NextAsync(updates, total, cancellationToken);
            }
            catch (AllModelsFailedException failure) when (failure.ContentBlocked)
            {
                (opened, blocked) = (false, true);
            }

            var model = ResponseCacheCall.From(call.Options)?.HitModel ?? AnsweringModel(context, call.Route.Model);
            string? fingerprint = null;
            ChatCompletionChunk Chunk(ChatCompletionDelta delta, string? finishReason = null) =>
                new(id, created, model, [new(delta, finishReason)]) { SystemFingerprint = fingerprint };

            if (blocked)
            {
                // A blocked prompt, streamed: the same finish_reason content_filter as the unary answer.
                yield return Chunk(new ChatCompletionDelta { Role = "assistant", Content = "" });
                var blockedEnd = Chunk(new ChatCompletionDelta(), ContentFilter);
                if (call.IncludeUsage)
                {
                    yield return blockedEnd;
                    yield return new ChatCompletionChunk(id, created, model, []) { Usage = ChatCompletionUsage.From(context.Usage), Gateway = Extras(call, context, started) };
                }
                else
                {
                    yield return blockedEnd with { Gateway = Extras(call, context, started) };
                }

                yield break;
            }

            if (!opened)
            {
                yield break;
            }

            yield return Chunk(new ChatCompletionDelta { Role = "assistant", Content = "" });
            ChatFinishReason? finish = null;
            var toolCalls = 0;
            do
            {
                var update = updates.Current;
                fingerprint ??= SystemFingerprint(update.RawRepresentation);
                finish = update.FinishReason ?? finish;
                var text = string.Concat(update.Contents.OfType<TextContent>().Select(t => t.Text));
                var calls = new List<ChatCompletionToolCallDelta>();
                foreach (var functionCall in update.Contents.OfType<FunctionCallContent>())
                {
                    calls.Add(new ChatCompletionToolCallDelta(toolCalls++, functionCall.CallId, Function(functionCall)));
                }

                if (text.Length > 0 || calls.Count > 0)
                {
                    yield return Chunk(new ChatCompletionDelta { Content = text.Length > 0 ? text : null, ToolCalls = calls.Count > 0 ? calls : null });
                }
            }
            while (await NextAsync(updates, total, cancellationToken));

            // The stream has ended, so the context now holds the usage and cost of the answer.
            var extras = Extras(call, context, started);
            var last = Chunk(new ChatCompletionDelta(), FinishReason(finish, toolCalls > 0));
            if (call.IncludeUsage)
            {
                yield return last;
                yield return new ChatCompletionChunk(id, created, model, []) { Usage = ChatCompletionUsage.From(context.Usage), Gateway = extras, SystemFingerprint = fingerprint };
            }
            else
            {
                yield return last with { Gateway = extras };
            }
        }
    }

    // An OpenAI-compatible upstream's fingerprint, carried through the re-serialised answer (Gemini has none).
    private static string? SystemFingerprint(object? raw) => raw switch
    {
        OpenAI.Chat.ChatCompletion completion => completion.SystemFingerprint,
        OpenAI.Chat.StreamingChatCompletionUpdate update => update.SystemFingerprint,
        _ => null,
    };

    private async ValueTask<bool> NextAsync(IAsyncEnumerator<ChatResponseUpdate> updates, Deadline total, CancellationToken cancellationToken)
    {
        try
        {
            return await updates.MoveNextAsync();
        }
        catch (OperationCanceledException) when (total.HasExpired)
        {
            throw new GatewayTimeoutException(options.Value.TotalTimeout);
        }
    }

    private static GatewayCallContext Attach(ChatCompletionCall call)
    {
        var context = new GatewayCallContext();
        context.Attach(call.Options);
        return context;
    }

    // A stream reports its model before the gateway books the answer: the model of the attempt that
    // succeeded, named as the gateway names answers ("offline" when the offline provider served it).
    private static string AnsweringModel(GatewayCallContext context, string routed) =>
        context.Attempts.LastOrDefault(a => a.Outcome == AttemptRecord.Succeeded) is { } answered
            ? answered.Provider == ProviderNames.Offline ? ProviderNames.Offline : answered.Model
            : routed;

    private GatewayExtras Extras(ChatCompletionCall call, GatewayCallContext context, long started) => new(
        context.Attempts,
        context.Fallbacks,
        decimal.Round(context.CostUsd, 8),
        new GatewayRoute(call.Route.Model, call.Route.Reason),
        (long)time.GetElapsedTime(started).TotalMilliseconds)
    {
        Cache = ResponseCacheCall.From(call.Options)?.Info,
    };

    private static IEnumerable<FunctionCallContent> Calls(ChatResponse response) =>
        response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>();

    private static ChatCompletionFunctionCallOut Function(FunctionCallContent call) =>
        new(call.Name, JsonSerializer.Serialize(call.Arguments ?? new Dictionary<string, object?>(), OpenAIJson.Arguments));

    private static string FinishReason(ChatFinishReason? reason, bool calledTools) =>
        calledTools ? "tool_calls"
        : reason == ChatFinishReason.Length ? "length"
        : reason == ChatFinishReason.ContentFilter ? ContentFilter
        : "stop";

    private const string ContentFilter = "content_filter";

    private static string NewId() => "chatcmpl-" + Guid.NewGuid().ToString("N");

    private long Created() => time.GetUtcNow().ToUnixTimeSeconds();
}
