using Agents.Hosting;
using Ai.Gateway.Agents;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Ai.Gateway.Tests.Agents;

/// <summary>A hosted agent of a running gateway as the bus runs it (<see cref="BusAgent"/>), without the hosting.</summary>
internal static class HostedAgentSetup
{
    public static BusAgent Create(IServiceProvider services, string id, HostedAgentDefinition definition, TimeProvider time)
    {
        var options = new BusAgentOptions();
        HostedAgentFactory.Configure(options, id, definition, services.GetRequiredService<IOptions<HostedAgentsOptions>>().Value);
        return new BusAgent(services.GetRequiredService<HostedAgentFactory>().Create(id, definition), options, time);
    }
}
