using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using TestSupport;

namespace Orchestration.Api.Tests.Integration;

/// <summary>The Orchestration.Api routes the integration tests call, over any <see cref="HttpClient"/> (in-process or a real process).</summary>
public static class OrchestrationClient
{
    public static readonly TimeSpan RunWait = TimeSpan.FromSeconds(90);

    public static async Task PutWorkflowAsync(this HttpClient api, JsonObject workflow, CancellationToken cancellationToken = default)
    {
        using var response = await api.PutAsJsonAsync($"/api/workflows/{workflow["id"]}", workflow, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"PUT workflow failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
        }
    }

    /// <summary><c>POST /api/workflows/{id}/runs</c>; returns the status code and the body.</summary>
    public static async Task<(HttpStatusCode Status, JsonElement Body)> TryStartRunAsync(this HttpClient api, string workflowId, object? input = null,
        string? idempotencyKey = null, int? waitMs = null, CancellationToken cancellationToken = default)
    {
        var query = waitMs is null ? "" : $"?waitMs={waitMs}";
        using var response = await api.PostAsJsonAsync($"/api/workflows/{workflowId}/runs{query}",
            new { input = input ?? new { }, idempotencyKey }, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    /// <summary>Starts a run and returns its id (the start must be accepted).</summary>
    public static async Task<string> StartRunAsync(this HttpClient api, string workflowId, object? input = null, string? idempotencyKey = null,
        CancellationToken cancellationToken = default)
    {
        var (status, body) = await api.TryStartRunAsync(workflowId, input, idempotencyKey, cancellationToken: cancellationToken);
        if (status != HttpStatusCode.Accepted)
        {
            throw new InvalidOperationException($"Starting a run of '{workflowId}' gave {(int)status}: {body}");
        }

        return body.GetProperty("runId").GetString()!;
    }

    public static async Task<JsonElement> GetRunAsync(this HttpClient api, string runId, CancellationToken cancellationToken = default) =>
        await api.GetFromJsonAsync<JsonElement>($"/api/runs/{runId}", cancellationToken);

    /// <summary>Polls the run until <paramref name="until"/> holds (default: it ended); the timeout message shows the last state.</summary>
    public static Task<JsonElement> WaitForRunAsync(this HttpClient api, string runId, Func<JsonElement, bool>? until = null, TimeSpan? timeout = null,
        string? because = null, CancellationToken cancellationToken = default) =>
        Eventually.ValueAsync(() => api.GetRunAsync(runId, cancellationToken), until ?? IsTerminal, timeout ?? RunWait,
            because ?? $"run {runId} ends", TimeSpan.FromMilliseconds(100));

    public static Task<JsonElement> WaitForStatusAsync(this HttpClient api, string runId, string status, TimeSpan? timeout = null,
        CancellationToken cancellationToken = default) =>
        api.WaitForRunAsync(runId, r => Status(r) == status, timeout, $"run {runId} is {status}", cancellationToken);

    public static async Task<List<JsonElement>> ListRunsAsync(this HttpClient api, string query = "", CancellationToken cancellationToken = default)
    {
        var page = await api.GetFromJsonAsync<JsonElement>($"/api/runs{query}", cancellationToken);
        return [.. page.GetProperty("items").EnumerateArray()];
    }

    public static string Status(JsonElement run) => run.GetProperty("status").GetString()!;

    public static bool IsTerminal(JsonElement run) => Status(run) is "SUCCEEDED" or "FAILED" or "CANCELLED" or "TIMED_OUT";

    /// <summary>The property's value, or null when it is absent or JSON null.</summary>
    public static JsonElement? Value(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    public static JsonElement Step(JsonElement run, string stepId) =>
        run.GetProperty("steps").EnumerateArray().Single(s => s.GetProperty("id").GetString() == stepId);
}

/// <summary>Workflow definitions as the API takes them (JSON), with test-friendly defaults: long timeouts, short backoffs.</summary>
public static class Wf
{
    public static JsonObject Of(string id, params JsonObject[] steps) => new()
    {
        ["id"] = id,
        ["timeoutMs"] = 600_000,
        ["steps"] = new JsonArray([.. steps]),
    };

    public static JsonObject Step(string id, string? agent = null, string? capability = null, int maxAttempts = 3, long timeoutMs = 120_000,
        long backoffMs = 200, string onFail = "RETRY", string? compensateWith = null, object? input = null)
    {
        var step = new JsonObject
        {
            ["id"] = id,
            ["onFail"] = onFail,
            ["maxAttempts"] = maxAttempts,
            ["timeoutMs"] = timeoutMs,
            ["backoff"] = new JsonObject { ["type"] = "constant", ["baseMs"] = backoffMs, ["maxMs"] = backoffMs, ["jitter"] = false },
        };
        if (agent is not null)
        {
            step["agent"] = agent;
        }

        if (capability is not null)
        {
            step["capability"] = capability;
        }

        if (compensateWith is not null)
        {
            step["compensate"] = new JsonObject { ["agent"] = compensateWith };
        }

        if (input is not null)
        {
            step["input"] = JsonSerializer.SerializeToNode(input);
        }

        return step;
    }
}
