using Microsoft.Extensions.DependencyInjection.Extensions;
using Orchestration.Api.Engine;
using Orchestration.Api.Model;
using Orchestration.Api.Services;

namespace Orchestration.Api.Extensions;

internal static class Extensions
{
    /// <summary>Room in a TASK payload for everything but the rendered input (ids, deadline, capability).</summary>
    private const int EnvelopeRoom = 16 * 1024;

    private static int BusPayloadLimit(IConfiguration configuration) =>
        configuration.GetValue<int?>($"{Communication.Bus.CommunicationBusSettings.SectionName}:MaxPayloadBytes") ?? new Communication.Bus.CommunicationBusSettings().MaxPayloadBytes;

    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddCommunicationBus("redis");

        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddOptions<OrchestrationOptions>()
            .BindConfiguration(OrchestrationOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(o => o.TimerLease > o.TimerPollInterval, "Orchestration:TimerLease must be longer than TimerPollInterval.")
            .Validate(o => o.MaxStepInputBytes <= BusPayloadLimit(builder.Configuration) - EnvelopeRoom,
                $"Orchestration:MaxStepInputBytes must leave {EnvelopeRoom} bytes of the bus payload limit (Bus:MaxPayloadBytes) for the task's other fields.")
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
