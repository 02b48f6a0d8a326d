using System.Net.Http.Json;
using System.Text.Json;
using Ai.Gateway.Tests.Fakes;
using Microsoft.Extensions.DependencyInjection;
using TestSupport;

namespace Ai.Gateway.Tests.Policy;

/// <summary>A model of a test catalog. Ids get a per-test suffix so buckets in the shared Redis never meet.</summary>
public sealed record TestModel(string Name, string[]? Fallbacks = null, int Burst = 1000, double Qps = 1000, long? DailyLimit = null,
    decimal InputPrice = 1m, decimal OutputPrice = 2m, string Provider = "gemini", string Tier = "Flash", string Kind = "Chat", int? Dimensions = null);

/// <summary>
/// The real gateway <c>Program</c> on Kestrel against the shared Redis and a fake Gemini server,
/// with a small catalog and fast policy timings for tests.
/// </summary>
public sealed class PolicyGateway : IAsyncDisposable
{
    private readonly ServiceFactory<Program> _factory;

    private PolicyGateway(ServiceFactory<Program> factory, FakeGeminiServer? gemini, string suffix)
    {
        _factory = factory;
        Gemini = gemini;
        Suffix = suffix;
        Client = factory.CreateAuthorizedClient();
    }

    public FakeGeminiServer? Gemini { get; }

    public string Suffix { get; }

    public HttpClient Client { get; }

    /// <summary>The running gateway's services (meters, options, singletons).</summary>
    public IServiceProvider Services => _factory.Services;

    public string Id(string name) => $"{name}-{Suffix}";

    /// <summary>A client that sends another API key (configure it as <c>Auth:ApiKeys:&lt;caller&gt;</c>).</summary>
    public HttpClient ClientWithKey(string apiKey)
    {
        var client = _factory.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        return client;
    }

    public static Task<PolicyGateway> StartAsync(RedisFixture redis, FakeGeminiServer? gemini, IEnumerable<TestModel> models,
        IDictionary<string, string?>? settings = null, string? suffix = null, Action<IServiceCollection>? services = null) =>
        StartAsync(redis.ConnectionString, gemini, models, settings, suffix, services);

    /// <summary>A gateway on a Redis of the test's own (e.g. one the test stops or pauses).</summary>
    public static Task<PolicyGateway> StartAsync(string redisConnectionString, FakeGeminiServer? gemini, IEnumerable<TestModel> models,
        IDictionary<string, string?>? settings = null, string? suffix = null, Action<IServiceCollection>? services = null)
    {
        suffix ??= Guid.NewGuid().ToString("N")[..8];
        var all = new Dictionary<string, string?>
        {
            ["Gateway:Policy:RetryBaseDelay"] = "00:00:00.010",
            ["Gateway:Policy:MaxRetries"] = "2",
            ["Gateway:Policy:RateLimitWait"] = "00:00:00.100",
            ["Gateway:Policy:AttemptTimeout"] = "00:00:05",
            ["Gateway:Policy:TotalTimeout"] = "00:00:30",
            ["Gateway:Policy:DailyQuotaTimeZone"] = "UTC",
            // Gateways of different tests share Redis: hosted agents here would take each other's tasks
            // (and call this test's fake upstream). HostedAgentsTests covers them on a Redis of its own.
            ["HostedAgents:Enabled"] = "false",
        };
        if (gemini is not null)
        {
            all["Gemini:ApiKey"] = FakeGeminiServer.ApiKey;
            all["Gemini:Endpoint"] = gemini.BaseAddress.ToString();
        }

        var list = models.ToList();
        all["Gateway:DefaultModel"] = $"{list[0].Name}-{suffix}";
        foreach (var m in list)
        {
            var prefix = $"Gateway:Models:{m.Name}-{suffix}:";
            all[prefix + "Provider"] = m.Provider;
            all[prefix + "Tier"] = m.Tier;
            all[prefix + "Kind"] = m.Kind;
            all[prefix + "Dimensions"] = m.Dimensions?.ToString(System.Globalization.CultureInfo.InvariantCulture);
            all[prefix + "Burst"] = m.Burst.ToString(System.Globalization.CultureInfo.InvariantCulture);
            all[prefix + "Qps"] = m.Qps.ToString(System.Globalization.CultureInfo.InvariantCulture);
            all[prefix + "DailyLimit"] = m.DailyLimit?.ToString(System.Globalization.CultureInfo.InvariantCulture);
            all[prefix + "InputPricePerMillion"] = m.InputPrice.ToString(System.Globalization.CultureInfo.InvariantCulture);
            all[prefix + "OutputPricePerMillion"] = m.OutputPrice.ToString(System.Globalization.CultureInfo.InvariantCulture);
            for (var f = 0; f < (m.Fallbacks?.Length ?? 0); f++)
            {
                all[$"{prefix}Fallbacks:{f}"] = $"{m.Fallbacks![f]}-{suffix}";
            }
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        var factory = new ServiceFactory<Program>(redisConnectionString, all) { ConfigureServices = services };
        return Task.FromResult(new PolicyGateway(factory, gemini, suffix));
    }

    public async Task<(HttpResponseMessage Response, JsonElement Body)> GenerateAsync(object request)
    {
        var response = await Client.PostAsJsonAsync("/v1/generate", request, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        var body = text.Length > 0 && text.TrimStart().StartsWith('{') ? JsonDocument.Parse(text).RootElement.Clone() : default;
        return (response, body);
    }

    public static IEnumerable<(string Model, string Outcome)> Attempts(JsonElement body) =>
        (body.TryGetProperty("attempts", out var attempts) ? attempts.EnumerateArray() : Enumerable.Empty<JsonElement>())
            .Select(a => (a.GetProperty("model").GetString()!, a.GetProperty("outcome").GetString()!));

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _factory.DisposeAsync();
    }
}
