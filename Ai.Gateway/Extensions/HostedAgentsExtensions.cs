using Ai.Gateway.Agents;
using Microsoft.Extensions.Options;

namespace Ai.Gateway.Extensions;

internal static class HostedAgentsExtensions
{
    /// <summary>The LLM agents the gateway hosts, and the HTTP client they register with.</summary>
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

        // Service discovery and the standard resilience handler come from ServiceDefaults.
        builder.Services.AddHttpClient(OrchestrationClient.HttpClientName, (services, http) =>
        {
            var options = services.GetRequiredService<IOptions<HostedAgentsOptions>>().Value;
            http.BaseAddress = options.OrchestrationUrl;
            if (!string.IsNullOrEmpty(options.ApiKey))
            {
                http.DefaultRequestHeaders.Add("X-Api-Key", options.ApiKey);
            }
        })
            // A heartbeat per agent every few seconds must not write HttpClient's Information lines;
            // the service logs a registration and every failure itself.
            .RemoveAllLoggers();

        builder.Services.AddSingleton<HostedAgentsService>();
        builder.Services.AddHostedService(services => services.GetRequiredService<HostedAgentsService>());
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
