using Orchestration.Client;
using Polly;
using Polly.Retry;

namespace Web.Console.Services;

/// <summary>
/// Follows a run's events server-side (the SSE stream of orchestration-api, never opened by the browser): history
/// first, then live. A dropped connection is resumed after the last event id until the run's final event arrives.
/// </summary>
internal sealed class RunEventFeed(ApiClients clients, TimeProvider time)
{
    public static readonly TimeSpan ReconnectDelay = TimeSpan.FromSeconds(1);

    private readonly ResiliencePipeline _reconnect = new ResiliencePipelineBuilder { TimeProvider = time }
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<StreamDroppedException>().Handle<HttpRequestException>(e => e is not ApiException),
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Constant,
            Delay = ReconnectDelay,
            UseJitter = true,
        })
        .Build();

    public async Task FollowAsync(string runId, Func<RunEvent, Task> onEvent, CancellationToken cancellationToken)
    {
        var client = await clients.OrchestrationAsync();
        string? lastEventId = null;
        await _reconnect.ExecuteAsync(async token =>
        {
            var received = 0;
            await foreach (var runEvent in client.StreamRunEventsAsync(runId, lastEventId, token))
            {
                received++;
                lastEventId = runEvent.EventId ?? lastEventId;
                await onEvent(runEvent);
                if (RunEventTypes.IsTerminal(runEvent.Type))
                {
                    return;
                }
            }

            // The stream ended without the final event: the run ended before (nothing more to read), or the
            // connection dropped (read again after the last event).
            if (received == 0 && (await client.GetRunAsync(runId, token))?.IsFinal != false)
            {
                return;
            }

            throw new StreamDroppedException();
        }, cancellationToken);
    }

    private sealed class StreamDroppedException() : Exception("The run's event stream ended before its final event.");
}
