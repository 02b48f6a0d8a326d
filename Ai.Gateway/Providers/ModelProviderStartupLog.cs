using Ai.Gateway.Model;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ai.Gateway.Providers;

/// <summary>Says once, at start-up, which providers are live and which catalog models are served offline.</summary>
internal sealed partial class ModelProviderStartupLog(
    IModelProviderRegistry registry,
    IOptions<ModelCatalogOptions> catalog,
    ILogger<ModelProviderStartupLog> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        LogLiveProviders(logger, string.Join(", ", registry.LiveProviders));

        var offline = catalog.Value.All
            .Where(m => m.Provider != ProviderNames.Offline && registry.ServingProvider(m) == ProviderNames.Offline)
            .Select(m => $"{m.Id} ({m.Provider})")
            .ToList();
        if (offline.Count > 0)
        {
            LogServedOffline(logger, offline.Count, string.Join(", ", offline));
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Model providers live: {Providers}")]
    private static partial void LogLiveProviders(ILogger logger, string providers);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "{Count} catalog model(s) have no provider credentials and are served by the offline model (responses say model 'offline'): {Models}. Set Gemini:ApiKey or OpenAI:ApiKey/Endpoint to call them.")]
    private static partial void LogServedOffline(ILogger logger, int count, string models);
}
