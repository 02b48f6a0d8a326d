using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using OpenAI;

namespace Ai.Gateway.Providers.OpenAI;

/// <summary>
/// What the OpenAI-compatible chat client and embedding generator share: the SDK's settings (one attempt, our
/// timeout, the factory's HttpClient) and the mapping of every SDK failure to a <see cref="ModelProviderException"/>.
/// </summary>
internal sealed partial class OpenAITransport(string model, OpenAIOptions options, TimeProvider time, ILogger logger)
{
    private readonly string _model = model;
    private readonly OpenAIOptions _options = options;
    private readonly TimeProvider _time = time;
    private readonly ILogger _logger = logger;

    public static OpenAIClientOptions ClientOptions(HttpClient httpClient, OpenAIOptions options)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        var clientOptions = new OpenAIClientOptions
        {
            // One attempt: the gateway's policy owns retries (and reads RetryAfter from our exception).
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = options.RequestTimeout,
            Transport = new HttpClientPipelineTransport(httpClient),
        };
        if (options.Endpoint is not null)
        {
            clientOptions.Endpoint = options.Endpoint;
        }

        return clientOptions;
    }

    // Local servers (Ollama, vLLM) accept any bearer token; the SDK insists on one.
    public static ApiKeyCredential Credential(OpenAIOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new(string.IsNullOrWhiteSpace(options.ApiKey) ? "no-key" : options.ApiKey);
    }

    /// <summary>The exception to throw instead of the one caught, or null to let the caught one propagate.</summary>
    public ModelProviderException? Translate(Exception exception, Deadline deadline)
    {
        ModelProviderException? failure = exception switch
        {
            ModelProviderException => null,
            // The caller's own cancellation propagates as it is.
            OperationCanceledException when deadline.CallerToken.IsCancellationRequested => null,
            // Our deadline, or the SDK's NetworkTimeout (the same value) firing first.
            OperationCanceledException => ProviderFailures.TimedOut(ProviderNames.OpenAI, _model, deadline, exception),
            ClientResultException { Status: > 0 } result => FromResult(result),
            // Status 0: no HTTP answer at all (connection refused, reset, DNS).
            ClientResultException or HttpRequestException or IOException => new ModelProviderException(
                $"openai model '{_model}' could not be reached: {ProviderFailures.Redact(exception.Message, _options.ApiKey)}",
                ProviderNames.OpenAI, _model, ModelFailureKind.Transient, innerException: exception),
            JsonException or FormatException => new ModelProviderException(
                $"openai model '{_model}' answered with a body that could not be read: {exception.Message}",
                ProviderNames.OpenAI, _model, ModelFailureKind.InvalidResponse, innerException: exception),
            _ => null,
        };
        if (failure is not null)
        {
            LogFailed(_logger, _model, failure.Kind, exception);
        }

        return failure;
    }

    private ModelProviderException FromResult(ClientResultException exception)
    {
        var response = exception.GetRawResponse();
        string? body = null;
        TimeSpan? retryAfter = null;
        if (response is not null)
        {
            try
            {
                body = response.Content.ToString();
            }
            catch (InvalidOperationException)
            {
                // The body was not buffered; the status alone still classifies the failure.
            }

            retryAfter = RetryAfter(response.Headers);
        }

        var failure = ProviderFailures.FromHttpStatus(ProviderNames.OpenAI, _model, exception.Status,
            ProviderErrorBody.Parse(body), retryAfter, _options.ApiKey);
        return new ModelProviderException(failure.Message, failure.Provider, failure.Model, failure.Kind,
            failure.StatusCode, failure.ProviderStatus, failure.RetryAfter, exception);
    }

    private TimeSpan? RetryAfter(PipelineResponseHeaders headers)
    {
        if (headers.TryGetValue("retry-after-ms", out var ms)
            && double.TryParse(ms, System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out var millis)
            && millis >= 0)
        {
            return TimeSpan.FromMilliseconds(millis);
        }

        return headers.TryGetValue("Retry-After", out var value) && RetryConditionHeaderValue.TryParse(value, out var parsed)
            ? ProviderFailures.FromRetryAfter(parsed, _time.GetUtcNow())
            : null;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "OpenAI-compatible model {Model} failed: {Kind}")]
    private static partial void LogFailed(ILogger logger, string model, ModelFailureKind kind, Exception exception);
}
