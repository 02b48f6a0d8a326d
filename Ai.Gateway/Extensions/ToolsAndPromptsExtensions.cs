using System.Net;
using Ai.Gateway.Prompts;
using Ai.Gateway.Tools;
using Ai.Gateway.Tools.BuiltIn;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace Ai.Gateway.Extensions;

public static class ToolsAndPromptsExtensions
{
    /// <summary>
    /// The tool runtime and the built-in tools (echo, calculate, http_get, time_now), with options from
    /// <c>Tools</c> and <c>Tools:HttpGet</c> validated at start-up. Add more tools as <see cref="ITool"/> singletons.
    /// </summary>
    public static IHostApplicationBuilder AddToolRuntime(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);

        services.AddOptions<ToolRuntimeOptions>().BindConfiguration(ToolRuntimeOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ToolRuntimeOptions>, ToolRuntimeOptionsValidator>();
        services.AddOptions<HttpGetToolOptions>().BindConfiguration(HttpGetToolOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<HttpGetToolOptions>, HttpGetToolOptionsValidator>();

        services.AddSingleton<ITool, EchoTool>();
        services.AddSingleton<ITool, CalculateTool>();
        services.AddSingleton<ITool, HttpGetTool>();
        services.AddSingleton<ITool, TimeNowTool>();
        services.AddSingleton<ToolRuntime>();
        services.AddSingleton<ToolTelemetry>();
        services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(ToolTelemetry.MeterName));

        services.AddSingleton<GuardedConnector>();
        services.AddHttpClient(HttpGetTool.HttpClientName)
            .ConfigureHttpClient(client => client.Timeout = Timeout.InfiniteTimeSpan) // the tool's own time cap governs
            .ConfigurePrimaryHttpMessageHandler(sp => new SocketsHttpHandler
            {
                AllowAutoRedirect = false,           // redirects are followed by the tool, host by host
                UseProxy = false,                    // the address check must see the real destination
                UseCookies = false,
                AutomaticDecompression = DecompressionMethods.All, // the size cap counts decompressed bytes
                ConnectCallback = sp.GetRequiredService<GuardedConnector>().ConnectAsync,
                PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            })
            // Drop the app-wide handlers (service discovery, standard resilience): a URL from a model must
            // not resolve to an internal service, and the tool's caller decides whether to retry.
            .ConfigureAdditionalHttpMessageHandlers((handlers, _) => handlers.Clear());

        return builder;
    }

    /// <summary>The prompt formats and system presets, in English and Arabic (<see cref="IPromptLibrary"/>).</summary>
    public static IHostApplicationBuilder AddPromptFormats(this IHostApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton<IPromptLibrary, PromptLibrary>();
        return builder;
    }
}
