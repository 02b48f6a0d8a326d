using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace Ai.Gateway.Providers.Gemini;

/// <summary>
/// One POST to Gemini's REST API (<c>{endpoint}/{version}/models/{model}:{action}</c>) with the key in a header, and
/// the mapping of every failure (HTTP status, an error inside a body, network, timeout) to a
/// <see cref="ModelProviderException"/>. Shared by the chat client and the embedding generator.
/// </summary>
internal sealed partial class GeminiTransport
{
    private const string ApiKeyHeader = "x-goog-api-key";

    private readonly HttpClient _http;
    private readonly GeminiOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public GeminiTransport(HttpClient httpClient, GeminiOptions options, TimeProvider? timeProvider, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        if (!options.HasApiKey)
        {
            throw new ArgumentException("Gemini:ApiKey is required for the Gemini client.", nameof(options));
        }

        _http = httpClient;
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger;
        var endpoint = options.Endpoint.AbsoluteUri;
        BaseUri = new Uri(endpoint.EndsWith('/') ? endpoint : endpoint + "/");
    }

    public Uri BaseUri { get; }

    /// <summary>A model id without the <c>models/</c> prefix Gemini's own names carry.</summary>
    public static string BareModel(string model) =>
        model.StartsWith("models/", StringComparison.Ordinal) ? model["models/".Length..] : model;

    /// <summary>Sends <paramref name="body"/> to the model's <paramref name="action"/>; a non-2xx answer throws.</summary>
    public async Task<HttpResponseMessage> SendAsync(string model, string action, JsonObject body, Deadline deadline)
    {
        var path = string.Join('/', model.Split('/').Select(Uri.EscapeDataString));
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(BaseUri, $"{_options.ApiVersion}/models/{path}:{action}"))
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        // The key goes in a header, never the query string, so it stays out of URLs, logs and traces.
        request.Headers.Add(ApiKeyHeader, _options.ApiKey);

        LogSending(_logger, model, action);
        var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(deadline.Token);
            var retryAfter = ProviderFailures.RetryAfterFromHeaders(response.Headers, _time.GetUtcNow());
            throw Logged(ProviderFailures.FromHttpStatus(ProviderNames.Gemini, model, (int)response.StatusCode,
                ProviderErrorBody.Parse(text), retryAfter, _options.ApiKey));
        }
    }

    public ModelProviderException Logged(ModelProviderException failure)
    {
        LogFailed(_logger, failure.Model ?? "", failure.Kind, failure);
        return failure;
    }

    /// <summary>An <c>{"error":…}</c> object inside a 200 body or an SSE stream: the same mapping as an HTTP error.</summary>
    public ModelProviderException ErrorInBody(JsonElement error, string model)
    {
        var status = error.ValueKind == JsonValueKind.Object && error.TryGetProperty("code", out var code) && code.TryGetInt32(out var c) ? c : 500;
        return ProviderFailures.FromHttpStatus(ProviderNames.Gemini, model, status, ProviderErrorBody.FromError(error), null, _options.ApiKey);
    }

    /// <summary>The exception to throw instead of the one caught, or null to let the caught one propagate.</summary>
    public ModelProviderException? Translate(Exception exception, string model, Deadline deadline)
    {
        ModelProviderException? failure = exception switch
        {
            // Already mapped (and logged) where it was raised.
            ModelProviderException => null,
            // The caller's own cancellation propagates as it is.
            OperationCanceledException when deadline.CallerToken.IsCancellationRequested => null,
            // Any other cancellation is a timeout: ours, or an HttpClient.Timeout shorter than ours.
            OperationCanceledException => ProviderFailures.TimedOut(ProviderNames.Gemini, model, deadline, exception),
            HttpRequestException or IOException => new ModelProviderException(
                $"gemini model '{model}' could not be reached: {exception.Message}", ProviderNames.Gemini, model, ModelFailureKind.Transient,
                innerException: exception),
            _ => null,
        };
        if (failure is not null)
        {
            LogFailed(_logger, model, failure.Kind, exception);
        }

        return failure;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Calling Gemini model {Model} ({Action})")]
    private static partial void LogSending(ILogger logger, string model, string action);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Gemini model {Model} failed: {Kind}")]
    private static partial void LogFailed(ILogger logger, string model, ModelFailureKind kind, Exception exception);
}
