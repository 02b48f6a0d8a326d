using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace Ai.Gateway.Caching;

/// <summary>
/// The shared response cache as a step of the chat pipeline, outermost, so what it keeps is the final answer (after tool
/// rounds and the JSON repair). A call takes part when it carries a <see cref="ResponseCacheCall"/> that asks for the
/// cache and its model's cache is enabled. One entry serves both ways of asking: a streamed request that hits gets the
/// cached answer as updates, and a streamed answer is kept once it has ended whole.
/// </summary>
/// <remarks>
/// Not Microsoft.Extensions.AI's <c>DistributedCachingChatClient</c>: it keys on the options' JSON (which leaves out the
/// tools and would take in the gateway's per-request objects), keeps streamed and unary answers apart, keeps whatever
/// comes back (a tool-call round, a stream stopped by a safety filter), has one expiry for all models and no size limit,
/// and cannot tell the caller that an answer was a hit.
/// </remarks>
public sealed class ResponseCacheChatClient(IChatClient inner, ResponseCache cache) : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var sent = messages as IReadOnlyList<ChatMessage> ?? [.. messages];
        if (cache.PlanFor(sent, options) is not { } plan)
        {
            return await base.GetResponseAsync(sent, options, cancellationToken);
        }

        if (await cache.LookupAsync(plan, cancellationToken) is { } hit)
        {
            return hit;
        }

        var response = await base.GetResponseAsync(sent, options, cancellationToken);
        await cache.StoreAsync(plan, response, options!, streamed: false, cancellationToken);
        return response;
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var sent = messages as IReadOnlyList<ChatMessage> ?? [.. messages];
        var plan = cache.PlanFor(sent, options);
        if (plan is not null && await cache.LookupAsync(plan, cancellationToken) is { } hit)
        {
            foreach (var update in hit.ToChatResponseUpdates())
            {
                yield return update;
            }

            yield break;
        }

        List<ChatResponseUpdate> updates = [];
        await foreach (var update in base.GetStreamingResponseAsync(sent, options, cancellationToken))
        {
            if (plan is not null)
            {
                updates.Add(update);
            }

            yield return update;
        }

        // Reached only when the stream ended whole: a caller that stopped reading, or a failure, keeps nothing.
        if (plan is not null)
        {
            await cache.StoreAsync(plan, updates.ToChatResponse(), options!, streamed: true, cancellationToken);
        }
    }
}
