using Ai.Gateway.Caching;
using Ai.Gateway.Generation;
using Ai.Gateway.Policy;
using Ai.Gateway.Usage;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace Ai.Gateway.Extensions;

internal static class PolicyExtensions
{
    /// <summary>The policy every model call goes through, and the generation service on top of it.</summary>
    public static IHostApplicationBuilder AddGatewayPolicy(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<GatewayPolicyOptions>()
            .BindConfiguration(GatewayPolicyOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<GatewayPolicyOptions>, GatewayPolicyOptionsValidator>();
        builder.Services.AddOptions<RoutingOptions>()
            .BindConfiguration(RoutingOptions.SectionName)
            .ValidateOnStart();

        builder.Services.AddSingleton<ModelCatalog>();
        builder.Services.AddSingleton<ModelRouter>();
        builder.Services.AddSingleton<ModelResilience>();
        builder.AddUsageAccounting();
        builder.Services.AddSingleton<ModelCallPolicy>();
        builder.Services.AddSingleton<GatewayChatClient>();
        builder.Services.AddSingleton<ResponseCache>();
        builder.Services.AddSingleton<GatewayEmbeddingGenerator>();
        builder.Services.AddSingleton<GenerationService>();

        return builder;
    }

    /// <summary>Usage counted in memory on the answer's path and written to Redis in the background.</summary>
    private static IHostApplicationBuilder AddUsageAccounting(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<UsageOptions>().BindConfiguration(UsageOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<UsageOptions>, UsageOptionsValidator>();
        builder.Services.AddSingleton<UsageRecorder>();
        builder.Services.AddSingleton<UsageStore>();
        builder.Services.AddSingleton<UsageWriter>();
        builder.Services.AddHostedService(services => services.GetRequiredService<UsageWriter>());
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(UsageWriter.MeterName));
        return builder;
    }
}
