using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orchestration.Client;

namespace Microsoft.Extensions.Hosting;

/// <summary>Registers the typed clients of orchestration-api and ai-gateway the Aspire-client way.</summary>
public static class OrchestrationClientExtensions
{
    /// <summary>The AppHost's resource name of orchestration-api.</summary>
    public const string OrchestrationConnectionName = "orchestration-api";

    /// <summary>The AppHost's resource name of ai-gateway.</summary>
    public const string GatewayConnectionName = "ai-gateway";

    /// <summary>
    /// Registers <see cref="OrchestrationClient"/> as a typed HTTP client named <paramref name="connectionName"/>, with
    /// <see cref="ApiClientSettings"/> bound from <c>Clients:&lt;connectionName&gt;</c> and validated at start-up. The
    /// base address defaults to <c>https+http://&lt;connectionName&gt;</c>: service discovery (added to every
    /// HttpClient by the app's service defaults) resolves it to the AppHost resource.
    /// </summary>
    /// <param name="builder">The host application builder.</param>
    /// <param name="connectionName">The AppHost resource name, <c>orchestration-api</c> by default.</param>
    /// <param name="configureSettings">Changes to the settings after binding (may run more than once).</param>
    /// <returns>The HTTP client builder, to add handlers (for example one that sends a per-user API key).</returns>
    public static IHttpClientBuilder AddOrchestrationClient(
        this IHostApplicationBuilder builder,
        string connectionName = OrchestrationConnectionName,
        Action<ApiClientSettings>? configureSettings = null) =>
        builder.AddApiClient<OrchestrationClient>(connectionName, configureSettings);

    /// <summary>
    /// Registers <see cref="GatewayClient"/> (the gateway's read routes: models and usage) as a typed HTTP client named
    /// <paramref name="connectionName"/>, configured like <see cref="AddOrchestrationClient"/>.
    /// </summary>
    /// <param name="builder">The host application builder.</param>
    /// <param name="connectionName">The AppHost resource name, <c>ai-gateway</c> by default.</param>
    /// <param name="configureSettings">Changes to the settings after binding (may run more than once).</param>
    /// <returns>The HTTP client builder.</returns>
    public static IHttpClientBuilder AddGatewayClient(
        this IHostApplicationBuilder builder,
        string connectionName = GatewayConnectionName,
        Action<ApiClientSettings>? configureSettings = null) =>
        builder.AddApiClient<GatewayClient>(connectionName, configureSettings);

    private static IHttpClientBuilder AddApiClient<TClient>(
        this IHostApplicationBuilder builder, string connectionName, Action<ApiClientSettings>? configureSettings)
        where TClient : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionName);

        builder.Services.AddOptions<ApiClientSettings>(connectionName)
            .BindConfiguration($"{ApiClientSettings.SectionName}:{connectionName}")
            .Configure(settings => configureSettings?.Invoke(settings))
            .PostConfigure(settings => settings.BaseAddress ??= new Uri($"https+http://{connectionName}"))
            .ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ApiClientSettings>, ApiClientSettingsValidator>());

        return builder.Services.AddHttpClient<TClient>(connectionName, (services, http) =>
        {
            var settings = services.GetRequiredService<IOptionsMonitor<ApiClientSettings>>().Get(connectionName);
            http.BaseAddress = settings.BaseAddress;
            http.Timeout = settings.Timeout;
            if (!string.IsNullOrEmpty(settings.ApiKey))
            {
                http.DefaultRequestHeaders.Add(ApiHeaders.ApiKey, settings.ApiKey);
            }
        });
    }
}
