using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TestSupport;

namespace Orchestration.Client.Tests;

/// <summary>AddOrchestrationClient / AddGatewayClient: settings from configuration, validated at start-up, the key sent.</summary>
public sealed class RegistrationTests(ServicesFixture services)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void Without_settings_the_clients_address_the_apphost_resources_by_service_discovery_names()
    {
        using var host = ServicesFixture.CreateHost(new Dictionary<string, string?>());

        var orchestration = host.Services.GetRequiredService<OrchestrationClient>();
        var gateway = host.Services.GetRequiredService<GatewayClient>();

        Assert.Equal(new Uri("https+http://orchestration-api"), orchestration.Http.BaseAddress);
        Assert.Equal(new Uri("https+http://ai-gateway"), gateway.Http.BaseAddress);
        Assert.False(orchestration.Http.DefaultRequestHeaders.Contains(ApiHeaders.ApiKey));
    }

    [Fact]
    public async Task Invalid_settings_stop_the_start_with_messages_that_name_the_keys()
    {
        using var host = ServicesFixture.CreateHost(new Dictionary<string, string?>
        {
            ["Clients:orchestration-api:BaseAddress"] = "relative/path",
            ["Clients:orchestration-api:ApiKey"] = "short",
            ["Clients:ai-gateway:Timeout"] = "02:00:00",
        });

        // One OptionsValidationException per named client (an AggregateException holds both).
        var error = await Assert.ThrowsAsync<AggregateException>(() => host.StartAsync(Ct));
        var messages = string.Join("\n", error.InnerExceptions.OfType<OptionsValidationException>().SelectMany(e => e.Failures));

        Assert.Equal(2, error.InnerExceptions.Count);
        Assert.Contains("Clients:orchestration-api:BaseAddress", messages, StringComparison.Ordinal);
        Assert.Contains("Clients:orchestration-api:ApiKey", messages, StringComparison.Ordinal);
        Assert.Contains("Clients:ai-gateway:Timeout", messages, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_key_is_an_api_exception_with_the_services_problem()
    {
        using var host = ServicesFixture.CreateHost(new Dictionary<string, string?>
        {
            ["Clients:orchestration-api:BaseAddress"] = services.OrchestrationAddress.ToString(),
            ["Clients:orchestration-api:ApiKey"] = "not-the-key-0123456789",
        });
        var client = host.Services.GetRequiredService<OrchestrationClient>();

        var error = await Assert.ThrowsAsync<ApiException>(() => client.ListAgentsAsync(cancellationToken: Ct));

        Assert.Equal(HttpStatusCode.Unauthorized, error.StatusCode);
        Assert.Equal("Unauthorized", error.Title);
        Assert.Contains("API key", error.Detail, StringComparison.Ordinal);
        Assert.IsAssignableFrom<HttpRequestException>(error);
    }

    [Fact]
    public async Task The_configured_key_is_sent()
    {
        var agents = await services.Client.ListAgentsAsync(cancellationToken: Ct);

        Assert.Contains(agents, a => a.Id == EchoAgent.Id);
        Assert.Equal(TestSecrets.ApiKey, services.Client.Http.DefaultRequestHeaders.GetValues(ApiHeaders.ApiKey).Single());
    }
}
