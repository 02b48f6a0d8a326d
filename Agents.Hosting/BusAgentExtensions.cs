using Agents.Hosting;
using Communication.Bus;
using Microsoft.Agents.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orchestration.Client;

namespace Microsoft.Extensions.Hosting;

/// <summary>Joins Microsoft Agent Framework agents to the Agent Team bus.</summary>
public static class BusAgentExtensions
{
    /// <summary>
    /// Joins the agent that <paramref name="agentFactory"/> builds to the bus as <paramref name="id"/>: a hosted service
    /// subscribes to its topic (<c>agent.&lt;id&gt;</c>), runs the agent for every TASK (its input as the message, its
    /// output schema as the JSON response format, cancelled at its deadline, inside an <c>invoke_agent</c> span that
    /// continues the task's trace) and answers with a signed TASK_RESULT; and it registers the agent with
    /// orchestration-api and heartbeats. <see cref="BusAgentOptions"/> named <paramref name="id"/> are bound from
    /// <c>Agents:&lt;id&gt;</c>, then <paramref name="configure"/> runs; they are validated at start-up.
    /// </summary>
    /// <remarks>
    /// Uses the application's bus and <see cref="OrchestrationClient"/>; when none is registered yet it adds
    /// <c>AddCommunicationBus("redis")</c> and <c>AddOrchestrationClient()</c> (configuration <c>Bus:*</c>,
    /// <c>ConnectionStrings:redis</c>, <c>Clients:orchestration-api:*</c>). Call those first to choose other names. The
    /// bus name (<c>Bus:ServiceName</c>) needs a signing key bound to it that orchestration-api trusts, and the API key
    /// the agent role (README "Join as an outside agent").
    /// </remarks>
    /// <param name="builder">The host application builder.</param>
    /// <param name="id">The agent id.</param>
    /// <param name="agentFactory">Builds the agent once, from the application's services.</param>
    /// <param name="configure">Changes to the options after binding.</param>
    /// <returns>The options builder, to configure the options from other services.</returns>
    public static OptionsBuilder<BusAgentOptions> AddBusAgent(
        this IHostApplicationBuilder builder,
        string id,
        Func<IServiceProvider, AIAgent> agentFactory,
        Action<BusAgentOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        ArgumentNullException.ThrowIfNull(agentFactory);

        if (!builder.Services.Any(d => d.ServiceType == typeof(IMessageBus)))
        {
            builder.AddCommunicationBus("redis");
        }

        if (!builder.Services.Any(d => d.ServiceType == typeof(OrchestrationClient)))
        {
            builder.AddOrchestrationClient();
        }

        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<BusAgentOptions>, BusAgentOptionsValidator>());
        builder.Services.AddOpenTelemetry().WithTracing(tracing => tracing.AddSource(BusAgentTelemetry.SourceName));

        var options = builder.Services.AddOptions<BusAgentOptions>(id)
            .BindConfiguration($"{BusAgentOptions.SectionName}:{id}")
            .Configure(o =>
            {
                o.Id = id;
                configure?.Invoke(o);
            })
            .ValidateOnStart();

        builder.Services.AddKeyedSingleton(id, (services, _) =>
        {
            var settings = services.GetRequiredService<IOptionsMonitor<BusAgentOptions>>().Get(id);
            return new BusAgent(agentFactory(services), settings, services.GetRequiredService<TimeProvider>());
        });
        builder.Services.AddKeyedSingleton(id, (services, _) => new BusAgentService(
            services.GetRequiredKeyedService<BusAgent>(id),
            services.GetRequiredService<IOptionsMonitor<BusAgentOptions>>().Get(id),
            services.GetRequiredService<IMessageBus>(),
            services.GetRequiredService<IOptions<CommunicationBusSettings>>().Value.Subscription,
            services.GetRequiredService<OrchestrationClient>,
            services.GetRequiredService<TimeProvider>(),
            services.GetRequiredService<ILogger<BusAgentService>>()));
        builder.Services.AddSingleton<IHostedService>(services => services.GetRequiredKeyedService<BusAgentService>(id));
        return options;
    }
}
