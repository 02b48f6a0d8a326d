using Agents.Hosting;
using Ai.Gateway.Agents;
using Microsoft.Extensions.Options;
using Orchestration.Client;

namespace Ai.Gateway.Extensions;

internal static class HostedAgentsExtensions
{
    /// <summary>
    /// The LLM agents the gateway hosts: each configured agent is a Microsoft Agent Framework agent on the gateway's
    /// chat pipeline (<see cref="HostedAgentFactory"/>) that joins the bus with <c>AddBusAgent</c>, the one agent loop
    /// any .NET process uses; it registers with orchestration-api through the typed client, with the gateway's key.
    /// </summary>
    public static IHostApplicationBuilder AddHostedAgents(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<HostedAgentsOptions>()
            .BindConfiguration(HostedAgentsOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(o => o.Agents.Values.All(a => a.Capabilities.Count > 0 && !string.IsNullOrWhiteSpace(a.Name)),
                "Every HostedAgents:Agents:<id> needs a Name and at least one capability.")
            .Validate(o => o.Agents.Values.All(a => a.OutputSchema is null || IsJson(a.OutputSchema)),
                "HostedAgents:Agents:<id>:OutputSchema must be JSON text.")
            .ValidateOnStart();
        builder.Services.AddSingleton<HostedAgentFactory>();

        // The agents are known from configuration now: each becomes a hosted service of its own.
        var section = builder.Configuration.GetSection(HostedAgentsOptions.SectionName);
        var ids = section.GetValue(nameof(HostedAgentsOptions.Enabled), true)
            ? section.GetSection(nameof(HostedAgentsOptions.Agents)).GetChildren().Select(a => a.Key).Order(StringComparer.Ordinal).ToList()
            : [];
        if (ids.Count == 0)
        {
            return builder;
        }

        // Registration and heartbeats go to HostedAgents:OrchestrationUrl with HostedAgents:ApiKey. Service discovery and
        // the standard resilience handler come from ServiceDefaults. A heartbeat per agent every few seconds must not
        // write HttpClient's Information lines; the agents log a registration and every failure themselves.
        builder.AddOrchestrationClient().RemoveAllLoggers();
        builder.Services.AddOptions<ApiClientSettings>(OrchestrationClientExtensions.OrchestrationConnectionName)
            .Configure<IOptions<HostedAgentsOptions>>((client, hosted) =>
            {
                client.BaseAddress = hosted.Value.OrchestrationUrl;
                client.ApiKey = hosted.Value.ApiKey;
            });

        foreach (var id in ids)
        {
            builder.AddBusAgent(id, services => services.GetRequiredService<HostedAgentFactory>().Create(id))
                .Configure<IOptions<HostedAgentsOptions>>((bus, hosted) =>
                    HostedAgentFactory.Configure(bus, id, hosted.Value.Agents[id], hosted.Value));
        }

        return builder;
    }

    private static bool IsJson(string text)
    {
        try
        {
            using var _ = System.Text.Json.JsonDocument.Parse(text);
            return true;
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }
}
