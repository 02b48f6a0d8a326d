using System.Net;
using System.Text;
using System.Text.Json;

namespace Orchestration.Api.Tests.Integration;

/// <summary><c>GET /api/runs/{id}/events</c>: Server-Sent Events, the history then live events, each with an id.</summary>
[Trait("Category", "Cluster")]
public sealed class RunEventStreamTests : IntegrationTest
{
    private sealed record SseEvent(string? Id, string? Type, string Data)
    {
        public JsonElement Json => JsonDocument.Parse(Data).RootElement;

        public override string ToString() => $"{Id} {Type} {Data}";
    }

    /// <summary>Reads one event (fields up to a blank line); null at the end of the stream.</summary>
    private static async Task<SseEvent?> ReadEventAsync(StreamReader reader)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        string? id = null, type = null;
        var data = new StringBuilder();
        var any = false;
        while (true)
        {
            var line = await reader.ReadLineAsync(timeout.Token);
            if (line is null)
            {
                return any ? new SseEvent(id, type, data.ToString()) : null;
            }

            if (line.Length == 0)
            {
                if (any)
                {
                    return new SseEvent(id, type, data.ToString());
                }

                continue;
            }

            if (line.StartsWith(':'))
            {
                continue; // a comment (keep-alive)
            }

            any = true;
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..].TrimStart(' ');
            switch (field)
            {
                case "id":
                    id = value;
                    break;
                case "event":
                    type = value;
                    break;
                case "data":
                    data.Append(data.Length > 0 ? "\n" : "").Append(value);
                    break;
            }
        }
    }

    private async Task<(HttpResponseMessage Response, StreamReader Reader)> OpenAsync(string runId, string? lastEventId = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/runs/{runId}/events");
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        var response = await Api.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct);
        return (response, new StreamReader(await response.Content.ReadAsStreamAsync(Ct)));
    }

    private static async Task<List<SseEvent>> ReadAsync(StreamReader reader, int? count = null)
    {
        var events = new List<SseEvent>();
        while (count is null || events.Count < count)
        {
            var next = await ReadEventAsync(reader);
            if (next is null)
            {
                Assert.True(count is null, $"the stream ended after {events.Count} of {count} events: {string.Join(" | ", events)}");
                break;
            }

            events.Add(next);
        }

        return events;
    }

    private static (ulong, ulong) EntryId(string? id)
    {
        var parts = id!.Split('-');
        return (ulong.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), ulong.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task The_stream_replays_the_history_then_live_events_in_order_with_ids_and_a_reconnect_after_the_end_is_204()
    {
        var worker = await AgentAsync("worker", task => task.StepId == "s2" ? AgentAction.Succeed().WhenReleased() : AgentAction.Succeed());
        await Api.PutWorkflowAsync(Wf.Of("sse", Wf.Step("s1", agent: "worker"), Wf.Step("s2", agent: "worker")), Ct);
        var runId = await Api.StartRunAsync("sse", cancellationToken: Ct);
        await worker.WaitForTaskAsync(runId, "s2");

        var (response, reader) = await OpenAsync(runId);
        List<SseEvent> history, live;
        using (response)
        using (reader)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            history = await ReadAsync(reader, count: 4);
            worker.Release(runId, "s2");
            live = await ReadAsync(reader); // to the end: the server closes the stream after the terminal event
        }

        var all = history.Concat(live).ToList();
        Assert.Equal(["workflow_started", "step_started", "step_completed", "step_started"], history.Select(e => e.Type));
        Assert.Equal(["step_completed", "workflow_completed"], live.Select(e => e.Type));
        Assert.Equal([null, "s1", "s1", "s2", "s2", null], all.Select(e => e.Json.TryGetProperty("stepId", out var s) ? s.GetString() : null));
        Assert.All(all, e =>
        {
            Assert.False(string.IsNullOrEmpty(e.Id), $"an event without an id: {e}");
            Assert.Equal(e.Type, e.Json.GetProperty("type").GetString());
            Assert.Equal(runId, e.Json.GetProperty("runId").GetString());
        });
        Assert.Equal(all.Select(e => EntryId(e.Id)).Order(), all.Select(e => EntryId(e.Id)));
        Assert.Equal(all.Count, all.Select(e => e.Id).Distinct().Count());

        // Resuming from an event gives exactly the events after it; from the terminal event there is nothing more.
        var (resumed, resumedReader) = await OpenAsync(runId, all[1].Id);
        using (resumed)
        using (resumedReader)
        {
            Assert.Equal(all.Skip(2).Select(e => e.Id), (await ReadAsync(resumedReader)).Select(e => e.Id));
        }

        var (ended, endedReader) = await OpenAsync(runId, all[^1].Id);
        using (ended)
        using (endedReader)
        {
            Assert.Equal(HttpStatusCode.NoContent, ended.StatusCode);
        }
    }
}
