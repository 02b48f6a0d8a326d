using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Ai.Gateway.OpenAICompat;

/// <summary>
/// A started stream as OpenAI sends it, for <c>TypedResults.ServerSentEvents</c>: one <c>data: {chunk}</c> event
/// per chunk, then <c>data: [DONE]</c>. A failure after the first chunk (the status is already sent) becomes a
/// last <c>data: {"error": {...}}</c> event and the stream ends without [DONE].
/// </summary>
internal static partial class ChatCompletionEvents
{
    public const string Done = "[DONE]";

    /// <summary>The events of <paramref name="chunks"/>, whose first chunk has been read already.</summary>
    public static async IAsyncEnumerable<string> From(IAsyncEnumerator<ChatCompletionChunk> chunks, ILogger logger,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using (chunks)
        {
            while (true)
            {
                yield return JsonSerializer.Serialize(chunks.Current, OpenAIJson.Options);
                bool more;
                OpenAIErrorEvent? failure = null;
                try
                {
                    more = await chunks.MoveNextAsync();
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
                {
                    LogStreamFailed(logger, ex);
                    (more, failure) = (false, new OpenAIErrorEvent(OpenAIErrors.ForStreamFailure(ex)));
                }

                if (failure is not null)
                {
                    yield return JsonSerializer.Serialize(failure, OpenAIJson.Options);
                    yield break;
                }

                if (!more)
                {
                    break;
                }
            }
        }

        yield return Done;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A chat completion stream failed after it started.")]
    private static partial void LogStreamFailed(ILogger logger, Exception exception);
}
