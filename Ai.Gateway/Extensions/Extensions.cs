using Ai.Gateway.Model;
using Microsoft.Extensions.Options;

namespace Ai.Gateway.Extensions;

internal static class Extensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddCommunicationBus("redis");

        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddOptions<ModelCatalogOptions>()
            .BindConfiguration(ModelCatalogOptions.SectionName)
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ModelCatalogOptions>, ModelCatalogOptionsValidator>();
        builder.AddModelProviders();
        builder.AddGatewayPolicy();
        builder.AddChatCompletions();
        builder.AddHostedAgents();

        builder.AddToolRuntime();
        builder.AddMcpToolServer();
        builder.AddMcpToolMounts();
        builder.AddPromptFormats();

        return builder;
    }
}
