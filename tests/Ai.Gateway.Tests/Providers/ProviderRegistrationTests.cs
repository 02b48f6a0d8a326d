using Ai.Gateway.Extensions;
using Ai.Gateway.Model;
using Ai.Gateway.Providers;
using Ai.Gateway.Providers.Gemini;
using Ai.Gateway.Providers.Offline;
using Ai.Gateway.Providers.OpenAI;
using Ai.Gateway.Tests.Fakes;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Ai.Gateway.Tests.Providers;

/// <summary>AddModelProviders as the app wires it: after ServiceDefaults, through the DI container.</summary>
public sealed class ProviderRegistrationTests
{
    private static readonly ModelDefinition GeminiModel = new() { Id = "gemini-test", Provider = "gemini" };
    private static readonly ModelDefinition OpenAIModel = new() { Id = "gpt-test", Provider = "openai" };
    private static readonly ModelDefinition OfflineModel = new() { Id = "local", Provider = "offline" };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void Provider_http_clients_carry_no_standard_resilience_handler_while_other_clients_do()
    {
        using var host = BuildHost([]);
        var handlers = host.Services.GetRequiredService<IHttpMessageHandlerFactory>();

        Assert.DoesNotContain(Chain(handlers.CreateHandler(GeminiChatClient.HttpClientName)), h => h is ResilienceHandler);
        Assert.DoesNotContain(Chain(handlers.CreateHandler(OpenAICompatibleChatClient.HttpClientName)), h => h is ResilienceHandler);
        // The control: ServiceDefaults really does add the handler to every other client.
        Assert.Contains(Chain(handlers.CreateHandler("some-other-client")), h => h is ResilienceHandler);
    }

    [Fact]
    public async Task A_gemini_503_through_the_registry_is_attempted_once()
    {
        await using var server = await FakeGeminiServer.StartNewAsync();
        server.DefaultReply = GeminiReplies.Error(503, "UNAVAILABLE", "overloaded");
        using var host = BuildHost(new()
        {
            ["Gemini:ApiKey"] = FakeGeminiServer.ApiKey,
            ["Gemini:Endpoint"] = server.BaseAddress.ToString(),
        });
        var client = host.Services.GetRequiredService<IModelProviderRegistry>().GetChatClient(GeminiModel);

        var failure = await Assert.ThrowsAsync<ModelProviderException>(() => client.GetResponseAsync("Hi", cancellationToken: Ct));

        Assert.Equal(ModelFailureKind.Transient, failure.Kind);
        // The standard handler would have retried a 503 (three times by default) before giving up.
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task The_gemini_key_reaches_no_log_record_even_at_trace_level()
    {
        await using var server = await FakeGeminiServer.StartNewAsync();
        server.Enqueue(GeminiReplies.Text("ok"), GeminiReplies.Error(400, "INVALID_ARGUMENT", $"API key not valid: {FakeGeminiServer.ApiKey}"));
        using var host = BuildHost(new()
        {
            ["Gemini:ApiKey"] = FakeGeminiServer.ApiKey,
            ["Gemini:Endpoint"] = server.BaseAddress.ToString(),
        });
        var client = host.Services.GetRequiredService<IModelProviderRegistry>().GetChatClient(GeminiModel);

        await client.GetResponseAsync("Hi", cancellationToken: Ct);
        await Assert.ThrowsAsync<ModelProviderException>(() => client.GetResponseAsync("Hi", cancellationToken: Ct));

        var records = host.Services.GetRequiredService<FakeLogCollector>().GetSnapshot();
        // The capture works: the client's failure log is there. HttpClient's own lines (URLs, header names) are
        // not: the provider clients log no line per call (issue 15).
        Assert.Contains(records, r => r.Exception is ModelProviderException);
        Assert.DoesNotContain(records, r => r.Category?.StartsWith("System.Net.Http.HttpClient", StringComparison.Ordinal) == true);
        Assert.DoesNotContain(records, r => $"{r.Message} {r.Exception}".Contains(FakeGeminiServer.ApiKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_keys_every_model_is_served_offline_and_says_so()
    {
        using var host = BuildHost([]);
        var registry = host.Services.GetRequiredService<IModelProviderRegistry>();

        Assert.Equal(["offline"], registry.LiveProviders);
        Assert.Equal("offline", registry.ServingProvider(GeminiModel));
        Assert.Equal("offline", registry.ServingProvider(OpenAIModel));
        var client = registry.GetChatClient(GeminiModel);
        Assert.IsType<OfflineChatClient>(client);
        Assert.Equal("offline", (await client.GetResponseAsync("Hi", cancellationToken: Ct)).ModelId);
    }

    [Fact]
    public async Task With_keys_each_model_gets_its_own_provider_bound_to_its_id()
    {
        await using var gemini = await FakeGeminiServer.StartNewAsync();
        await using var openAI = await FakeOpenAIServer.StartNewAsync();
        using var host = BuildHost(new()
        {
            ["Gemini:ApiKey"] = FakeGeminiServer.ApiKey,
            ["Gemini:Endpoint"] = gemini.BaseAddress.ToString(),
            ["OpenAI:ApiKey"] = FakeOpenAIServer.ApiKey,
            ["OpenAI:Endpoint"] = openAI.Endpoint.ToString(),
        });
        var registry = host.Services.GetRequiredService<IModelProviderRegistry>();

        Assert.Equal(["gemini", "openai", "offline"], registry.LiveProviders);
        var geminiClient = registry.GetChatClient(GeminiModel);
        Assert.Same(geminiClient, registry.GetChatClient(GeminiModel));
        Assert.Equal("gcp.gemini", geminiClient.GetService<ChatClientMetadata>()!.ProviderName);
        Assert.Equal("gemini-test", geminiClient.GetService<ChatClientMetadata>()!.DefaultModelId);
        Assert.IsType<OfflineChatClient>(registry.GetChatClient(OfflineModel));

        await geminiClient.GetResponseAsync("Hi", cancellationToken: Ct);
        await registry.GetChatClient(OpenAIModel).GetResponseAsync("Hi", cancellationToken: Ct);

        Assert.Equal("gemini-test", Assert.Single(gemini.Requests).Model);
        Assert.Equal("gpt-test", Assert.Single(openAI.Requests).Model);
    }

    [Fact]
    public async Task Start_up_logs_the_live_providers_and_the_models_served_offline()
    {
        using var host = BuildHost(new()
        {
            ["Gateway:DefaultModel"] = "gemini-test",
            ["Gateway:Models:gemini-test:Provider"] = "gemini",
            ["Gateway:Models:local:Provider"] = "offline",
        });

        await host.StartAsync(Ct);
        await host.StopAsync(Ct);

        var records = host.Services.GetRequiredService<FakeLogCollector>().GetSnapshot()
            .Where(r => r.Category == typeof(ModelProviderRegistry).Namespace + ".ModelProviderStartupLog").ToList();
        Assert.Contains(records, r => r.Level == LogLevel.Information && r.Message == "Model providers live: offline");
        var warning = Assert.Single(records, r => r.Level == LogLevel.Warning);
        Assert.Contains("gemini-test (gemini)", warning.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("local", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_zero_request_timeout_is_refused_at_start_up()
    {
        using var host = BuildHost(new() { ["Gemini:RequestTimeout"] = "00:00:00" });

        Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => host.StartAsync(Ct).GetAwaiter().GetResult());
    }

    private static IHost BuildHost(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing", DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddFakeLogging();
        builder.Logging.SetMinimumLevel(LogLevel.Trace);
        builder.Services.AddOptions<ModelCatalogOptions>().BindConfiguration(ModelCatalogOptions.SectionName);
        builder.AddServiceDefaults();
        builder.AddModelProviders();
        return builder.Build();
    }

    private static List<HttpMessageHandler> Chain(HttpMessageHandler handler)
    {
        var chain = new List<HttpMessageHandler> { handler };
        while (handler is DelegatingHandler { InnerHandler: { } inner })
        {
            chain.Add(inner);
            handler = inner;
        }

        return chain;
    }
}
