using System.Globalization;

namespace Orchestration.Client;

/// <summary>
/// The typed client of ai-gateway's read routes: the model catalog with live state and usage per day. Register it with
/// <c>builder.AddGatewayClient("ai-gateway")</c>. Error answers throw <see cref="ApiException"/>.
/// </summary>
/// <param name="http">An HttpClient whose base address is ai-gateway (and which sends the API key).</param>
public sealed class GatewayClient(HttpClient http)
{
    /// <summary>The HttpClient the client sends with.</summary>
    public HttpClient Http { get; } = http ?? throw new ArgumentNullException(nameof(http));

    /// <summary>The model catalog: providers, prices, limits, fallbacks, circuit and shared bucket now (<c>GET /v1/gateway/models</c>).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<ModelCatalog> GetModelsAsync(CancellationToken cancellationToken = default)
    {
        using var response = await Http.GetAsync("v1/gateway/models", cancellationToken).ConfigureAwait(false);
        return await ApiJson.ReadAsync<ModelCatalog>(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Usage per model on a UTC day, summed over the gateway's replicas (<c>GET /v1/usage?date=</c>).</summary>
    /// <param name="date">The day; today (UTC, by the gateway's clock) when null.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<UsageDay> GetUsageAsync(DateOnly? date = null, CancellationToken cancellationToken = default)
    {
        var path = "v1/usage" + OrchestrationClient.Query(("date", date?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)));
        using var response = await Http.GetAsync(path, cancellationToken).ConfigureAwait(false);
        return await ApiJson.ReadAsync<UsageDay>(response, cancellationToken).ConfigureAwait(false);
    }
}
