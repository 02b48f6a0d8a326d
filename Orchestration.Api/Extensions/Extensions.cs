using Microsoft.Extensions.DependencyInjection.Extensions;
using Orchestration.Api.Engine;
using Orchestration.Api.Model;
using Orchestration.Api.Services;

namespace Orchestration.Api.Extensions;

internal static class Extensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddCommunicationBus("redis");

        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddOptions<OrchestrationOptions>()
            .BindConfiguration(OrchestrationOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(o => o.TimerLease > o.TimerPollInterval, "Orchestration:TimerLease must be longer than TimerPollInterval.")
            .ValidateOnStart();

        // Registry and definitions.
        builder.Services.AddSingleton<AgentRegistry>();
        builder.Services.AddSingleton<WorkflowStore>();
        builder.Services.AddHostedService<ShippedWorkflows>();

        // The durable run engine.
        builder.Services.AddSingleton<AgentDirectory>();
        builder.Services.AddSingleton<RunStore>();
        builder.Services.AddSingleton<RunEventNotifier>();
        builder.Services.AddSingleton<OrchestrationTelemetry>();
        builder.Services.AddSingleton<ITaskPublisher, BusTaskPublisher>();
        builder.Services.AddSingleton<RunEngine>();
        builder.Services.AddHostedService<RunEngineWorker>();

        return builder;
    }
}
