using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace Orchestration.Client;

/// <summary>
/// The typed client of orchestration-api: agents, workflows, runs, run events, signals and dead letters. Register it
/// with <c>builder.AddOrchestrationClient("orchestration-api")</c>. Error answers throw <see cref="ApiException"/>
/// (an <see cref="HttpRequestException"/>) with the service's problem details; reads of something that does not
/// exist return <see langword="null"/>.
/// </summary>
/// <param name="http">An HttpClient whose base address is orchestration-api (and which sends the API key).</param>
public sealed class OrchestrationClient(HttpClient http)
{
    /// <summary>The HttpClient the client sends with.</summary>
    public HttpClient Http { get; } = http ?? throw new ArgumentNullException(nameof(http));

    // ---- Agents ----

    /// <summary>Registers an agent, or updates its registration (<c>POST /api/agents</c>).</summary>
    /// <param name="registration">The agent.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The agent as stored.</returns>
    public async Task<AgentInfo> RegisterAgentAsync(AgentRegistration registration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registration);
        using var response = await Http.PostAsJsonAsync("api/agents", registration, ApiJson.Options, cancellationToken).ConfigureAwait(false);
        return await ApiJson.ReadAsync<AgentInfo>(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Keeps an agent alive, optionally declaring a status (<c>POST /api/agents/{id}/heartbeat</c>).</summary>
    /// <param name="agentId">The agent.</param>
    /// <param name="status"><c>active</c>, <c>busy</c> or <c>offline</c>; null keeps the declared status.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>False when the service does not know the agent (it must register again).</returns>
    public async Task<bool> HeartbeatAsync(string agentId, string? status = null, CancellationToken cancellationToken = default)
    {
        using var content = status is null ? null : JsonContent.Create(new { status }, options: ApiJson.Options);
        using var response = await Http.PostAsync($"api/agents/{Segment(agentId)}/heartbeat", content, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }

        await ApiJson.EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Lists agents (<c>GET /api/agents</c>).</summary>
    /// <param name="capability">Only agents with this capability.</param>
    /// <param name="status">Only agents with this status (see <see cref="AgentStatuses"/>).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<IReadOnlyList<AgentInfo>> ListAgentsAsync(string? capability = null, string? status = null, CancellationToken cancellationToken = default) =>
        GetAsync<IReadOnlyList<AgentInfo>>("api/agents" + Query(("capability", capability), ("status", status)), cancellationToken);

    /// <summary>Gets one agent, or null when it is not registered.</summary>
    /// <param name="agentId">The agent.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<AgentInfo?> GetAgentAsync(string agentId, CancellationToken cancellationToken = default) =>
        FindAsync<AgentInfo>($"api/agents/{Segment(agentId)}", cancellationToken);

    /// <summary>Removes an agent.</summary>
    /// <param name="agentId">The agent.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>False when it was not registered.</returns>
    public async Task<bool> DeleteAgentAsync(string agentId, CancellationToken cancellationToken = default)
    {
        using var response = await Http.DeleteAsync($"api/agents/{Segment(agentId)}", cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }

        await ApiJson.EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        return true;
    }

    // ---- Workflows ----

    /// <summary>Lists workflow definitions.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<IReadOnlyList<WorkflowDefinition>> ListWorkflowsAsync(CancellationToken cancellationToken = default) =>
        GetAsync<IReadOnlyList<WorkflowDefinition>>("api/workflows", cancellationToken);

    /// <summary>Gets a workflow definition (its latest version), or null when there is none.</summary>
    /// <param name="workflowId">The workflow.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<WorkflowDefinition?> GetWorkflowAsync(string workflowId, CancellationToken cancellationToken = default) =>
        FindAsync<WorkflowDefinition>($"api/workflows/{Segment(workflowId)}", cancellationToken);

    /// <summary>Stores a workflow definition (<c>PUT /api/workflows/{id}</c>); invalid definitions throw with field errors.</summary>
    /// <param name="workflow">The definition; its <see cref="WorkflowDefinition.Id"/> names it.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The definition as stored.</returns>
    public async Task<WorkflowDefinition> PutWorkflowAsync(WorkflowDefinition workflow, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(workflow);
        ArgumentException.ThrowIfNullOrEmpty(workflow.Id);
        // The service assigns versions; a definition read back and stored again does not send one.
        using var response = await Http.PutAsJsonAsync($"api/workflows/{Segment(workflow.Id)}", workflow with { Version = null }, ApiJson.Options, cancellationToken)
            .ConfigureAwait(false);
        return await ApiJson.ReadAsync<WorkflowDefinition>(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Lists the stored versions of a workflow (<c>GET /api/workflows/{id}/versions</c>). Empty when the workflow does
    /// not exist or the service keeps no versions.
    /// </summary>
    /// <param name="workflowId">The workflow.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<IReadOnlyList<WorkflowVersionInfo>> ListWorkflowVersionsAsync(string workflowId, CancellationToken cancellationToken = default)
    {
        using var response = await Http.GetAsync($"api/workflows/{Segment(workflowId)}/versions", cancellationToken).ConfigureAwait(false);
        if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed)
        {
            return [];
        }

        var body = await ApiJson.ReadAsync<JsonElement>(response, cancellationToken).ConfigureAwait(false);
        // Either a list, or an object that holds the list under "versions" or "items".
        var list = body.ValueKind == JsonValueKind.Array ? body
            : body.ValueKind == JsonValueKind.Object && (body.TryGetProperty("versions", out var v) || body.TryGetProperty("items", out v)) ? v
            : default;
        if (list.ValueKind != JsonValueKind.Array)
        {
            return [];
        }

        return [.. list.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Object
            ? e.Deserialize<WorkflowVersionInfo>(ApiJson.Options)!
            : new WorkflowVersionInfo { Version = e.ToString() })];
    }

    /// <summary>Gets one stored version of a workflow, or null.</summary>
    /// <param name="workflowId">The workflow.</param>
    /// <param name="version">The version.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<WorkflowDefinition?> GetWorkflowVersionAsync(string workflowId, string version, CancellationToken cancellationToken = default) =>
        FindAsync<WorkflowDefinition>($"api/workflows/{Segment(workflowId)}/versions/{Segment(version)}", cancellationToken);

    // ---- Runs ----

    /// <summary>
    /// Starts a run (<c>POST /api/workflows/{id}/runs</c>). Input the workflow rejects throws an <see cref="ApiException"/>
    /// whose <see cref="ApiException.Errors"/> name the fields; an unknown workflow is a 404.
    /// </summary>
    /// <param name="workflowId">The workflow.</param>
    /// <param name="input">The run input (a JSON object); null sends none.</param>
    /// <param name="idempotencyKey">Starting twice with the same key gives the same run.</param>
    /// <param name="wait">Wait up to this long for the run to end; the answer then carries the run.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<StartedRun> StartRunAsync(string workflowId, JsonElement? input = null, string? idempotencyKey = null,
        TimeSpan? wait = null, CancellationToken cancellationToken = default)
    {
        var path = $"api/workflows/{Segment(workflowId)}/runs" +
            Query(("waitMs", wait is { } w ? ((long)w.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) : null));
        using var response = await Http.PostAsJsonAsync(path, new StartBody(input, idempotencyKey), ApiJson.Options, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.OK)
        {
            var run = await ApiJson.ReadAsync<RunDetails>(response, cancellationToken).ConfigureAwait(false);
            return new StartedRun { RunId = run.RunId, Status = run.Status, Run = run };
        }

        return await ApiJson.ReadAsync<StartedRun>(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Gets a run with its steps, or null when there is no such run.</summary>
    /// <param name="runId">The run.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<RunDetails?> GetRunAsync(string runId, CancellationToken cancellationToken = default) =>
        FindAsync<RunDetails>($"api/runs/{Segment(runId)}", cancellationToken);

    /// <summary>Lists runs, newest first (<c>GET /api/runs</c>).</summary>
    /// <param name="query">Filters and paging; all runs, 50 a page, when null.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<RunPage> ListRunsAsync(RunQuery? query = null, CancellationToken cancellationToken = default)
    {
        query ??= new RunQuery();
        return GetAsync<RunPage>("api/runs" + Query(
            ("workflowId", query.WorkflowId),
            ("status", query.Status),
            ("limit", query.Limit.ToString(CultureInfo.InvariantCulture)),
            ("cursor", query.Cursor)), cancellationToken);
    }

    /// <summary>Cancels a run (<c>POST /api/runs/{id}/cancel</c>); a run that already ended is a 409.</summary>
    /// <param name="runId">The run.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The run as the cancel left it.</returns>
    public async Task<RunDetails> CancelRunAsync(string runId, CancellationToken cancellationToken = default)
    {
        using var response = await Http.PostAsync($"api/runs/{Segment(runId)}/cancel", content: null, cancellationToken).ConfigureAwait(false);
        return await ApiJson.ReadAsync<RunDetails>(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Sends a signal to a run (<c>POST /api/runs/{id}/signals/{name}</c>), for example an approval of a waiting step.
    /// </summary>
    /// <param name="runId">The run.</param>
    /// <param name="name">The signal's name.</param>
    /// <param name="payload">The signal's body (a JSON object); null sends <c>{}</c>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The service's answer body (the run or the signal's receipt), or null when it sent none.</returns>
    public async Task<JsonElement?> SignalAsync(string runId, string name, JsonElement? payload = null, CancellationToken cancellationToken = default)
    {
        using var content = new StringContent(payload?.GetRawText() ?? "{}", Encoding.UTF8, "application/json");
        using var response = await Http.PostAsync($"api/runs/{Segment(runId)}/signals/{Segment(name)}", content, cancellationToken).ConfigureAwait(false);
        await ApiJson.EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        if (response.Content.Headers.ContentLength == 0 || response.StatusCode == HttpStatusCode.NoContent)
        {
            return null;
        }

        return await response.Content.ReadFromJsonAsync<JsonElement>(ApiJson.Options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads a run's events as the service streams them (<c>GET /api/runs/{id}/events</c>, Server-Sent Events): the
    /// history after <paramref name="lastEventId"/>, then live events. The sequence ends when the service ends the
    /// stream: after the run's final event, or earlier when the connection drops (resume with the last
    /// <see cref="RunEvent.EventId"/>). An unknown run throws a 404 <see cref="ApiException"/>; nothing after an ended
    /// run's last event gives an empty sequence.
    /// </summary>
    /// <param name="runId">The run.</param>
    /// <param name="lastEventId">Resume after this event; from the start when null.</param>
    /// <param name="cancellationToken">Stops reading.</param>
    public async IAsyncEnumerable<RunEvent> StreamRunEventsAsync(string runId, string? lastEventId = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"api/runs/{Segment(runId)}/events");
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (!string.IsNullOrEmpty(lastEventId))
        {
            request.Headers.TryAddWithoutValidation(ApiHeaders.LastEventId, lastEventId);
        }

        using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NoContent)
        {
            yield break;
        }

        await ApiJson.EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var parser = SseParser.Create(stream, (type, data) => JsonSerializer.Deserialize<RunEvent>(data, ApiJson.Options));
            await foreach (var item in parser.EnumerateAsync(cancellationToken).ConfigureAwait(false))
            {
                if (item.Data is { } runEvent)
                {
                    yield return runEvent with { EventId = item.EventId, Type = runEvent.Type.Length > 0 ? runEvent.Type : item.EventType };
                }
            }
        }
    }

    // ---- Dead letters (admin) ----

    /// <summary>Topics that have dead letters, with counts (<c>GET /api/dead-letters</c>).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<DeadLetterTopics> ListDeadLetterTopicsAsync(CancellationToken cancellationToken = default) =>
        GetAsync<DeadLetterTopics>("api/dead-letters", cancellationToken);

    /// <summary>A page of a topic's dead letters, oldest first (<c>GET /api/dead-letters/{topic}</c>).</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="limit">Page size, 1-200.</param>
    /// <param name="after">The previous page's <see cref="DeadLetterPage.Next"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<DeadLetterPage> ListDeadLettersAsync(string topic, int limit = 50, string? after = null, CancellationToken cancellationToken = default) =>
        GetAsync<DeadLetterPage>($"api/dead-letters/{Segment(topic)}" + Query(("limit", limit.ToString(CultureInfo.InvariantCulture)), ("after", after)), cancellationToken);

    /// <summary>
    /// Puts a dead letter back on its topic for the consumer group that dead-lettered it
    /// (<c>POST /api/dead-letters/{topic}/{id}/replay</c>); an unknown one is a 404.
    /// </summary>
    /// <param name="topic">The topic.</param>
    /// <param name="deadLetterId">The dead letter's <see cref="DeadLetterItem.Id"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<DeadLetterReplay> ReplayDeadLetterAsync(string topic, string deadLetterId, CancellationToken cancellationToken = default)
    {
        using var response = await Http.PostAsync($"api/dead-letters/{Segment(topic)}/{Segment(deadLetterId)}/replay", content: null, cancellationToken)
            .ConfigureAwait(false);
        return await ApiJson.ReadAsync<DeadLetterReplay>(response, cancellationToken).ConfigureAwait(false);
    }

    // ---- helpers ----

    private async Task<T> GetAsync<T>(string path, CancellationToken cancellationToken)
    {
        using var response = await Http.GetAsync(path, cancellationToken).ConfigureAwait(false);
        return await ApiJson.ReadAsync<T>(response, cancellationToken).ConfigureAwait(false);
    }

    private async Task<T?> FindAsync<T>(string path, CancellationToken cancellationToken) where T : class
    {
        using var response = await Http.GetAsync(path, cancellationToken).ConfigureAwait(false);
        return response.StatusCode == HttpStatusCode.NotFound ? null : await ApiJson.ReadAsync<T>(response, cancellationToken).ConfigureAwait(false);
    }

    internal static string Segment(string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(value);
        return Uri.EscapeDataString(value);
    }

    internal static string Query(params (string Name, string? Value)[] parameters)
    {
        var present = parameters.Where(p => !string.IsNullOrEmpty(p.Value)).Select(p => $"{p.Name}={Uri.EscapeDataString(p.Value!)}").ToList();
        return present.Count == 0 ? "" : "?" + string.Join('&', present);
    }

    private sealed record StartBody(JsonElement? Input, string? IdempotencyKey);
}
