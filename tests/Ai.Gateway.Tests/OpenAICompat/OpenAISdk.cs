using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ai.Gateway.Tests.Policy;
using OpenAI;
using OpenAI.Chat;
using TestSupport;

namespace Ai.Gateway.Tests.OpenAICompat;

/// <summary>The official OpenAI SDK pointed at a test gateway, and raw helpers for what the SDK hides.</summary>
public static class OpenAISdk
{
    public static OpenAIClientOptions Options(PolicyGateway gateway) => new()
    {
        Endpoint = new Uri(gateway.Client.BaseAddress!, "/v1"),
        // The tests look at each answer the gateway gives, 429s included: no SDK retries.
        RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        NetworkTimeout = TimeSpan.FromSeconds(30),
    };

    /// <summary>A chat client that sends the gateway's API key as <c>Authorization: Bearer</c>.</summary>
    public static ChatClient ChatClient(PolicyGateway gateway, string model, string apiKey = ServiceFactory<Program>.ApiKey) =>
        new(model, new ApiKeyCredential(apiKey), Options(gateway));

    public static OpenAIClient Client(PolicyGateway gateway) => new(new ApiKeyCredential(ServiceFactory<Program>.ApiKey), Options(gateway));

    /// <summary>The JSON the gateway sent, including what the SDK's model types drop (<c>x_gateway</c>).</summary>
    public static JsonElement Raw(ClientResult result) => JsonDocument.Parse(result.GetRawResponse().Content.ToString()).RootElement.Clone();

    public static JsonElement Raw(ClientResultException exception) =>
        JsonDocument.Parse(exception.GetRawResponse()!.Content.ToString()).RootElement.Clone();

    public static JsonElement Gateway(ClientResult result) => Raw(result).GetProperty("x_gateway");

    public static IEnumerable<(string Model, string Outcome)> Attempts(JsonElement xGateway) =>
        xGateway.GetProperty("attempts").EnumerateArray().Select(a => (a.GetProperty("model").GetString()!, a.GetProperty("outcome").GetString()!));

    /// <summary>POSTs raw JSON text to /v1/chat/completions with the gateway's key.</summary>
    public static async Task<(HttpResponseMessage Response, string Body)> PostAsync(PolicyGateway gateway, string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        var response = await gateway.Client.PostAsync("/v1/chat/completions", content, TestContext.Current.CancellationToken);
        return (response, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    public static async Task<(HttpResponseMessage Response, JsonElement Body)> PostAsync(PolicyGateway gateway, object request)
    {
        var response = await gateway.Client.PostAsJsonAsync("/v1/chat/completions", request, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        return (response, text.TrimStart().StartsWith('{') ? JsonDocument.Parse(text).RootElement.Clone() : default);
    }

    /// <summary>The <c>data:</c> payloads of a Server-Sent Events body, in order.</summary>
    public static List<string> Events(string body) =>
        body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(e => e.StartsWith("data: ", StringComparison.Ordinal) ? e["data: ".Length..] : throw new Xunit.Sdk.XunitException($"Not a data event: '{e}'"))
            .ToList();
}
