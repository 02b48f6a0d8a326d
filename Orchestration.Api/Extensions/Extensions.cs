using Orchestration.Api.Services;

namespace Microsoft.Extensions.Hosting;

internal static class Extensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddCommunicationBus("redis");

        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<AgentRegistry>();

        return builder;
    }
}
