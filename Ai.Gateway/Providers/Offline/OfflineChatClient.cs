using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;

namespace Ai.Gateway.Providers.Offline;

/// <summary>
/// A deterministic stand-in model that needs no network or key, so the app runs anywhere. It is
/// honest about it: every response says model <c>offline</c>, and the text says no model was called.
/// </summary>
public sealed partial class OfflineChatClient(TimeProvider? timeProvider = null) : IChatClient
{
    public const string ModelName = "offline";
    public const string ProviderName = "offline";

    private static readonly ChatClientMetadata Metadata = new(ProviderName, null, ModelName);
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;

    public Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var history = messages.ToList();
        var reply = OfflineReply.Create(history, options);
        var id = ResponseId(history, options);
        return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, [reply.Content]) { MessageId = id })
        {
            ResponseId = id,
            ModelId = ModelName,
            CreatedAt = _time.GetUtcNow(),
            FinishReason = reply.FinishReason,
            Usage = Usage(history, options, reply),
        });
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var history = messages.ToList();
        var reply = OfflineReply.Create(history, options);
        var id = ResponseId(history, options);
        var createdAt = _time.GetUtcNow();

        IEnumerable<AIContent> pieces = reply.Content is TextContent text
            ? Chunk().Matches(text.Text).Select(m => (AIContent)new TextContent(m.Value))
            : [reply.Content];
        foreach (var piece in pieces)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await Task.Yield();
            yield return Update(id, createdAt, piece);
        }

        var last = Update(id, createdAt, new UsageContent(Usage(history, options, reply)));
        last.FinishReason = reply.FinishReason;
        yield return last;
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        ProviderServices.Get(this, Metadata, serviceType, serviceKey);

    public void Dispose()
    {
    }

    private static ChatResponseUpdate Update(string id, DateTimeOffset createdAt, AIContent content) =>
        new(ChatRole.Assistant, [content]) { ResponseId = id, MessageId = id, ModelId = ModelName, CreatedAt = createdAt };

    private static UsageDetails Usage(IEnumerable<ChatMessage> history, ChatOptions? options, OfflineReply reply)
    {
        var input = OfflineReply.Tokens(OfflineReply.InputCharacters(history, options));
        var output = OfflineReply.Tokens(reply.OutputCharacters);
        return new UsageDetails { InputTokenCount = input, OutputTokenCount = output, TotalTokenCount = input + output };
    }

    // Same request, same id: a hash of what the reply depends on.
    private static string ResponseId(IEnumerable<ChatMessage> history, ChatOptions? options)
    {
        var seed = new StringBuilder(options?.Instructions);
        foreach (var message in history)
        {
            seed.Append('\u001e').Append(message.Role.Value).Append(':').Append(message.Text);
        }

        return "offline-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(seed.ToString())))[..16];
    }

    // About four words per streamed chunk; the chunks concatenate back to the exact text.
    [GeneratedRegex(@"(?:\S+\s*){1,4}|\s+")]
    private static partial Regex Chunk();
}
