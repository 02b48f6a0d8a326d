using Ai.Gateway.Model;
using Ai.Gateway.Providers;
using Ai.Gateway.Providers.Gemini;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using TestSupport;

namespace Ai.Gateway.Tests.Providers;

/// <summary>The real gateway Program (Kestrel, real Redis) with no provider keys configured.</summary>
public sealed class GatewayWiringTests : IAsyncLifetime
{
    private RedisServer _redis = null!;
    private ServiceFactory<Program> _gateway = null!;

    public async ValueTask InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _gateway = new ServiceFactory<Program>(_redis.ConnectionString, new Dictionary<string, string?> { ["Gemini:ApiKey"] = "" });
    }

    public async ValueTask DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task The_gateway_starts_without_keys_and_serves_every_catalog_model_offline()
    {
        var registry = _gateway.Services.GetRequiredService<IModelProviderRegistry>();
        var catalog = _gateway.Services.GetRequiredService<IOptions<ModelCatalogOptions>>().Value;

        Assert.NotEmpty(catalog.Models);
        Assert.Equal(["offline"], registry.LiveProviders);
        foreach (var model in catalog.All)
        {
            var response = await registry.GetChatClient(model).GetResponseAsync("Hello", cancellationToken: TestContext.Current.CancellationToken);
            Assert.Equal("offline", response.ModelId);
        }
    }

    [Fact]
    public void The_gateways_gemini_client_opts_out_of_the_standard_resilience_handler()
    {
        var handlers = _gateway.Services.GetRequiredService<IHttpMessageHandlerFactory>();

        var handler = handlers.CreateHandler(GeminiChatClient.HttpClientName);
        for (; handler is DelegatingHandler delegating; handler = delegating.InnerHandler!)
        {
            Assert.IsNotType<ResilienceHandler>(handler);
        }
    }
}
