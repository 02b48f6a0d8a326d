using Ai.Gateway.Providers;
using Ai.Gateway.Providers.Gemini;
using Ai.Gateway.Providers.Offline;
using Ai.Gateway.Providers.OpenAI;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Ai.Gateway.Extensions;

public static class ProviderExtensions
{
    /// <summary>
    /// The model providers (<c>gemini</c>, <c>openai</c>, <c>offline</c>) and the registry that picks one per
    /// catalog model. Configuration: sections <c>Gemini</c> and <c>OpenAI</c>; neither is required.
    /// </summary>
    public static IHostApplicationBuilder AddModelProviders(this IHostApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton(TimeProvider.System);

        builder.Services.AddOptions<GeminiOptions>().BindConfiguration(GeminiOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<GeminiOptions>, GeminiOptionsValidator>();
        builder.Services.AddOptions<OpenAIOptions>().BindConfiguration(OpenAIOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<OpenAIOptions>, OpenAIOptionsValidator>();

        AddProviderHttpClient(builder.Services, GeminiChatClient.HttpClientName);
        AddProviderHttpClient(builder.Services, OpenAICompatibleChatClient.HttpClientName);

        builder.Services.TryAddSingleton(sp => new OfflineChatClient(sp.GetRequiredService<TimeProvider>()));
        builder.Services.TryAddSingleton<IModelProviderRegistry, ModelProviderRegistry>();
        builder.Services.AddHostedService<ModelProviderStartupLog>();
        return builder;
    }

    // ServiceDefaults gives every HttpClient the standard resilience handler. Not these: the gateway's
    // policy retries (reading Gemini's RetryInfo) and falls back, so the handler's retries would multiply
    // attempts, and its 10 s attempt timeout would kill long calls and streams. RemoveAllResilienceHandlers
    // is the library's own way to opt a client out of ConfigureHttpClientDefaults; it is still marked
    // experimental (EXTEXP0001), so a test (ProviderRegistrationTests) pins its effect.
#pragma warning disable EXTEXP0001
    private static void AddProviderHttpClient(IServiceCollection services, string name) =>
        services.AddHttpClient(name)
            .RemoveAllResilienceHandlers()
            // The clients enforce Gemini:/OpenAI:RequestTimeout themselves (idle time for streams).
            .ConfigureHttpClient(client => client.Timeout = Timeout.InfiniteTimeSpan)
            // The registry keeps one client per model for the app's lifetime; pooled connections
            // still get recycled so DNS changes are picked up.
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2) })
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
            // HttpClient's own four Information lines per request would be four per model call: metrics
            // and traces carry each call, and failures are logged by the policy.
            .RemoveAllLoggers();
#pragma warning restore EXTEXP0001
}
