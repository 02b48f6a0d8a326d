using System.Diagnostics.Metrics;
using Communication.Bus;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using StackExchange.Redis;

namespace Microsoft.Extensions.Hosting;

/// <summary>Registers the communication bus the Aspire-client way.</summary>
public static class CommunicationBusExtensions
{
    /// <summary>The name of the bus health check.</summary>
    public const string HealthCheckName = "communication-bus";

    /// <summary>
    /// Registers the Redis connection named <paramref name="connectionName"/> (through
    /// <c>Aspire.StackExchange.Redis</c>: connection, health check, tracing), the bus settings bound from the
    /// <c>Bus</c> configuration section and validated at start-up, <see cref="IMessageBus"/>,
    /// <see cref="IDeadLetterQueue"/>, the <see cref="SigningKeyRing"/>, the <c>communication-bus</c> health check
    /// (Redis and consumer loops) and the bus's ActivitySource and Meter with OpenTelemetry.
    /// </summary>
    /// <param name="builder">The host application builder.</param>
    /// <param name="connectionName">The name of the Redis connection string, e.g. <c>redis</c>.</param>
    /// <param name="configureSettings">Optional changes to the settings after binding (may run more than once).</param>
    public static IHostApplicationBuilder AddCommunicationBus(
        this IHostApplicationBuilder builder,
        string connectionName,
        Action<CommunicationBusSettings>? configureSettings = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionName);

        var section = builder.Configuration.GetSection(CommunicationBusSettings.SectionName);
        var settings = new CommunicationBusSettings();
        section.Bind(settings);
        configureSettings?.Invoke(settings);

        builder.AddRedisClient(connectionName, redis =>
        {
            if (!string.IsNullOrWhiteSpace(settings.ConnectionString))
            {
                redis.ConnectionString = settings.ConnectionString;
            }

            redis.DisableHealthChecks = settings.DisableHealthChecks;
            redis.DisableTracing = settings.DisableTracing;
        });

        var applicationName = builder.Environment.ApplicationName;
        builder.Services.AddOptionsWithValidateOnStart<CommunicationBusSettings>()
            .Bind(section)
            .Configure(s => configureSettings?.Invoke(s))
            .PostConfigure(s => s.ServiceName ??= RedisMessageBus.SanitizeName(applicationName));
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CommunicationBusSettings>, CommunicationBusSettingsValidator>());

        builder.Services.TryAddSingleton(sp => new RedisMessageBus(
            sp.GetRequiredService<IConnectionMultiplexer>(),
            sp.GetRequiredService<IOptions<CommunicationBusSettings>>().Value,
            sp.GetService<TimeProvider>() ?? TimeProvider.System,
            sp.GetService<ILoggerFactory>(),
            sp.GetService<IMeterFactory>()));
        builder.Services.TryAddSingleton<IMessageBus>(sp => sp.GetRequiredService<RedisMessageBus>());
        builder.Services.TryAddSingleton(sp => sp.GetRequiredService<RedisMessageBus>().DeadLetters);
        builder.Services.TryAddSingleton(sp => sp.GetRequiredService<RedisMessageBus>().KeyRing);

        if (!settings.DisableHealthChecks)
        {
            builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
                HealthCheckName,
                sp => new CommunicationBusHealthCheck(sp),
                failureStatus: default,
                tags: ["ready"]));
        }

        // The distributed token bucket shares the connection (section Bus:RateLimiting).
        builder.AddDistributedRateLimiting();

        var telemetry = builder.Services.AddOpenTelemetry();
        if (!settings.DisableTracing)
        {
            telemetry.WithTracing(tracing => tracing.AddSource(CommunicationBusTelemetry.ActivitySourceName));
        }

        telemetry.WithMetrics(metrics => metrics.AddMeter(CommunicationBusTelemetry.MeterName));
        return builder;
    }
}

/// <summary>Reports Redis and the consumer loops; resolves the bus lazily so an outage fails the check, not start-up.</summary>
internal sealed class CommunicationBusHealthCheck(IServiceProvider services) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            return await services.GetRequiredService<RedisMessageBus>().CheckHealthAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, "The communication bus is not available.", ex);
        }
    }
}
