using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace AgentFramework.Writer;

/// <summary>
/// A chat client that needs no model: it answers with a short note on the last user message, labelled offline, and
/// with a JSON object <c>{ "summary": … }</c> when JSON is asked. Deterministic, so a test can check the answer.
/// </summary>
public sealed class OfflineChatClient : IChatClient
{
    public const string ModelId = "sample-offline";

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages.ToList();
        var input = list.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? "";
        var firstLine = input.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .FirstOrDefault(l => !l.StartsWith('#')) ?? "";
        var note = $"[offline] Draft for: {firstLine}";
        var text = options?.ResponseFormat is ChatResponseFormatJson
            ? JsonSerializer.Serialize(new { summary = note })
            : note;
        var inputTokens = list.Sum(m => m.Text.Length) / 4 + 1;
        var outputTokens = text.Length / 4 + 1;
        return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, text))
        {
            ModelId = ModelId,
            FinishReason = ChatFinishReason.Stop,
            Usage = new UsageDetails { InputTokenCount = inputTokens, OutputTokenCount = outputTokens, TotalTokenCount = inputTokens + outputTokens },
            CreatedAt = null,
            ResponseId = string.Create(CultureInfo.InvariantCulture, $"offline-{text.Length}"),
        });
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync(messages, options, cancellationToken);
        foreach (var update in response.ToChatResponseUpdates())
        {
            yield return update;
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}
