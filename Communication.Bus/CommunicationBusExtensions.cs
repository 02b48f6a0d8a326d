using Microsoft.Extensions.Configuration;
using Communication.Bus;

namespace Microsoft.Extensions.Hosting;

/// <summary>Registers the communication bus the Aspire-client way.</summary>
public static class CommunicationBusExtensions
{
    /// <summary>
    /// Registers the Redis connection named <paramref name="connectionName"/> (through
    /// <c>Aspire.StackExchange.Redis</c>: connection, health check, tracing) and the bus settings
    /// bound from the <c>Bus</c> configuration section.
    /// </summary>
    /// <param name="builder">The host application builder.</param>
    /// <param name="connectionName">The name of the Redis connection string, e.g. <c>redis</c>.</param>
    /// <param name="configureSettings">Optional changes to the settings after binding.</param>
    public static IHostApplicationBuilder AddCommunicationBus(
        this IHostApplicationBuilder builder,
        string connectionName,
        Action<CommunicationBusSettings>? configureSettings = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionName);

        var settings = new CommunicationBusSettings();
        builder.Configuration.GetSection(CommunicationBusSettings.SectionName).Bind(settings);
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

        return builder;
    }
}
