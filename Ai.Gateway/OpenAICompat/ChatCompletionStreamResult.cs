using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;

namespace Ai.Gateway.OpenAICompat;

/// <summary>
/// Writes a started stream as OpenAI does: one <c>data: {chunk}</c> event per chunk, then
/// <c>data: [DONE]</c>. A failure after the first chunk (the status is already sent) becomes a last
/// <c>data: {"error": {...}}</c> event and the stream ends without [DONE].
/// </summary>
internal sealed partial class ChatCompletionStreamResult(IAsyncEnumerator<ChatCompletionChunk> chunks) : IResult
{
    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        var cancellationToken = httpContext.RequestAborted;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        httpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        await using (chunks)
        {
            while (true)
            {
                await WriteEventAsync(response, JsonSerializer.SerializeToUtf8Bytes(chunks.Current, OpenAIJson.Options), cancellationToken);
                bool more;
                try
                {
                    more = await chunks.MoveNextAsync();
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
                {
                    LogStreamFailed(httpContext.RequestServices.GetRequiredService<ILogger<ChatCompletionStreamResult>>(), ex);
                    var error = new OpenAIErrorEvent(OpenAIErrors.ForStreamFailure(ex));
                    await WriteEventAsync(response, JsonSerializer.SerializeToUtf8Bytes(error, OpenAIJson.Options), cancellationToken);
                    return;
                }

                if (!more)
                {
                    break;
                }
            }

            await response.Body.WriteAsync(Done, cancellationToken);
            await response.Body.FlushAsync(cancellationToken);
        }
    }

    private static async Task WriteEventAsync(HttpResponse response, byte[] json, CancellationToken cancellationToken)
    {
        await response.Body.WriteAsync(DataPrefix, cancellationToken);
        await response.Body.WriteAsync(json, cancellationToken);
        await response.Body.WriteAsync(EventEnd, cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A chat completion stream failed after it started.")]
    private static partial void LogStreamFailed(ILogger logger, Exception exception);
}
