using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace Agents.Hosting.Tests;

/// <summary>A chat client that records what it was asked and answers with <see cref="Answer"/> (a hand-written fake).</summary>
internal sealed class ScriptedChatClient : IChatClient
{
    public ConcurrentQueue<(List<ChatMessage> Messages, ChatOptions? Options)> Calls { get; } = new();

    public Func<List<ChatMessage>, ChatOptions?, CancellationToken, Task<ChatResponse>> Answer { get; set; } =
        (messages, _, _) => Task.FromResult(Reply($"answer to: {messages.Last(m => m.Role == ChatRole.User).Text}"));

    public static ChatResponse Reply(string text, string model = "scripted-model") => new(new ChatMessage(ChatRole.Assistant, text))
    {
        ModelId = model,
        Usage = new UsageDetails { InputTokenCount = 7, OutputTokenCount = 5, TotalTokenCount = 12 },
    };

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages.ToList();
        Calls.Enqueue((list, options));
        return Answer(list, options, cancellationToken);
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var update in (await GetResponseAsync(messages, options, cancellationToken)).ToChatResponseUpdates())
        {
            yield return update;
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}
