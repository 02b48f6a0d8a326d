using System.Net;
using System.Net.Http.Json;

namespace Ai.Gateway.Agents;

/// <summary>The registry calls the hosted agents need, over HTTP with the gateway's own API key.</summary>
public sealed class OrchestrationClient(HttpClient http)
{
    public const string HttpClientName = "orchestration-api";

    /// <summary><paramref name="Sender"/>: the bus name the results come from (the orchestrator accepts results only from it).</summary>
    public sealed record Registration(string Id, string Name, IReadOnlyList<string> Capabilities, string Topic,
        IReadOnlyDictionary<string, string> Metadata, int HeartbeatTtlSeconds, string? Sender = null);

    public async Task RegisterAsync(Registration agent, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsJsonAsync("/api/agents", agent, cancellationToken);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>False when orchestration-api does not know the agent (it must register again).</summary>
    public async Task<bool> HeartbeatAsync(string agentId, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsync($"/api/agents/{Uri.EscapeDataString(agentId)}/heartbeat", content: null, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }

        response.EnsureSuccessStatusCode();
        return true;
    }
}
