using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ai.Gateway.Providers.Gemini;

/// <summary>
/// Gemini's native REST API (<c>generateContent</c>, <c>streamGenerateContent?alt=sse</c>) behind
/// <see cref="IChatClient"/>. One attempt per call: failures surface as <see cref="ModelProviderException"/>
/// and the gateway's policy decides about retries and fallback.
/// </summary>
public sealed partial class GeminiChatClient : IChatClient
{
    /// <summary>The OpenTelemetry <c>gen_ai.provider.name</c> of the Gemini Developer API.</summary>
    public const string ProviderName = "gcp.gemini";

    /// <summary>The named HttpClient the registry uses (without the standard resilience handler).</summary>
    public const string HttpClientName = "gemini";

    private const string ApiKeyHeader = "x-goog-api-key";

    private readonly HttpClient _http;
    private readonly GeminiOptions _options;
    private readonly string? _defaultModelId;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Uri _baseUri;
    private readonly ChatClientMetadata _metadata;

    public GeminiChatClient(
        HttpClient httpClient,
        GeminiOptions options,
        string? defaultModelId = null,
        TimeProvider? timeProvider = null,
        ILogger<GeminiChatClient>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        if (!options.HasApiKey)
        {
            throw new ArgumentException("Gemini:ApiKey is required for the Gemini client.", nameof(options));
        }

        _http = httpClient;
        _options = options;
        _defaultModelId = defaultModelId;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        var endpoint = options.Endpoint.AbsoluteUri;
        _baseUri = new Uri(endpoint.EndsWith('/') ? endpoint : endpoint + "/");
        _metadata = new ChatClientMetadata(ProviderName, _baseUri, defaultModelId);
    }

    public async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var model = ModelId(options);
        var body = GeminiRequestBuilder.Build(messages, options, options?.RawRepresentationFactory?.Invoke(this) as JsonObject);
        using var deadline = _time.StartDeadline(_options.RequestTimeout, cancellationToken);
        try
        {
            using var response = await SendAsync(model, stream: false, body, deadline);
            var json = await response.Content.ReadAsStringAsync(deadline.Token);
            var (parsed, contents) = Decode(json, model);
            return new ChatResponse(new ChatMessage(ChatRole.Assistant, contents) { MessageId = parsed.ResponseId })
            {
                ResponseId = parsed.ResponseId,
                ModelId = parsed.ModelVersion ?? model,
                CreatedAt = GeminiResponseMapper.CreatedAt(parsed.CreateTime),
                FinishReason = GeminiResponseMapper.FinishReason(parsed, contents.OfType<FunctionCallContent>().Any()),
                Usage = GeminiResponseMapper.Usage(parsed.UsageMetadata),
                RawRepresentation = json,
            };
        }
        catch (Exception e) when (Translate(e, model, deadline) is { } failure)
        {
            throw failure;
        }
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var model = ModelId(options);
        var body = GeminiRequestBuilder.Build(messages, options, options?.RawRepresentationFactory?.Invoke(this) as JsonObject);
        using var deadline = _time.StartDeadline(_options.RequestTimeout, cancellationToken);

        HttpResponseMessage? response = null;
        IAsyncEnumerator<SseItem<string>> events;
        try
        {
            response = await SendAsync(model, stream: true, body, deadline);
            var stream = await response.Content.ReadAsStreamAsync(deadline.Token);
            // SseParser handles \r\n, \n and \r line ends and joins multi-line data fields.
            events = SseParser.Create(stream).EnumerateAsync(deadline.Token).GetAsyncEnumerator(deadline.Token);
        }
        catch (Exception e)
        {
            response?.Dispose();
            if (Translate(e, model, deadline) is { } failure)
            {
                throw failure;
            }

            throw;
        }

        using (response)
        await using (events)
        {
            GeminiUsageMetadata? usage = null;
            string? responseId = null;
            var modelVersion = model;
            var sawFunctionCall = false;
            var sawEvent = false;
            while (true)
            {
                deadline.Restart();
                try
                {
                    if (!await events.MoveNextAsync())
                    {
                        break;
                    }
                }
                catch (Exception e) when (Translate(e, model, deadline) is { } failure)
                {
                    throw failure;
                }

                var data = events.Current.Data;
                if (string.IsNullOrWhiteSpace(data) || data == "[DONE]")
                {
                    continue;
                }

                sawEvent = true;
                var (chunk, contents) = Decode(data, model);

                // Each chunk repeats the cumulative usage so far: keep the last, report it once at the end.
                usage = chunk.UsageMetadata ?? usage;
                responseId = chunk.ResponseId ?? responseId;
                modelVersion = chunk.ModelVersion ?? modelVersion;
                sawFunctionCall |= contents.OfType<FunctionCallContent>().Any();
                var finish = GeminiResponseMapper.FinishReason(chunk, sawFunctionCall);
                if (contents.Count == 0 && finish is null)
                {
                    continue;
                }

                yield return new ChatResponseUpdate(ChatRole.Assistant, contents)
                {
                    ResponseId = chunk.ResponseId,
                    MessageId = chunk.ResponseId,
                    ModelId = modelVersion,
                    CreatedAt = GeminiResponseMapper.CreatedAt(chunk.CreateTime),
                    FinishReason = finish,
                    RawRepresentation = data,
                };
            }

            if (!sawEvent)
            {
                // A 200 with nothing in it: a proxy or a cut connection, not an answer.
                throw Logged(new ModelProviderException($"gemini model '{model}' answered with an empty stream.",
                    ProviderNames.Gemini, model, ModelFailureKind.InvalidResponse));
            }

            if (GeminiResponseMapper.Usage(usage) is { } details)
            {
                yield return new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(details)])
                {
                    ResponseId = responseId,
                    MessageId = responseId,
                    ModelId = modelVersion,
                };
            }
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(ChatClientMetadata) ? _metadata
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    // The HttpClient belongs to IHttpClientFactory (or the caller); nothing to release here.
    public void Dispose()
    {
    }

    private string ModelId(ChatOptions? options)
    {
        var model = options?.ModelId ?? _defaultModelId
            ?? throw new InvalidOperationException("No model id: set ChatOptions.ModelId or the client's default model.");
        return model.StartsWith("models/", StringComparison.Ordinal) ? model["models/".Length..] : model;
    }

    private async Task<HttpResponseMessage> SendAsync(string model, bool stream, JsonObject body, Deadline deadline)
    {
        var path = string.Join('/', model.Split('/').Select(Uri.EscapeDataString));
        var action = stream ? "streamGenerateContent?alt=sse" : "generateContent";
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_baseUri, $"{_options.ApiVersion}/models/{path}:{action}"))
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        // The key goes in a header, never the query string, so it stays out of URLs, logs and traces.
        request.Headers.Add(ApiKeyHeader, _options.ApiKey);

        LogSending(_logger, model, stream);
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

    // Reads one response body or stream event; an {"error":…} inside it throws like an HTTP error would.
    private (GeminiResponse Response, List<AIContent> Contents) Decode(string json, string model)
    {
        GeminiResponse response;
        List<AIContent> contents;
        try
        {
            response = GeminiResponseMapper.Parse(json);
            contents = response.Error is null ? GeminiResponseMapper.Contents(response) : [];
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            throw Logged(new ModelProviderException($"gemini model '{model}' answered with a body that is not a GenerateContentResponse: {e.Message}",
                ProviderNames.Gemini, model, ModelFailureKind.InvalidResponse, innerException: e));
        }

        return response.Error is { } error ? throw Logged(ErrorInBody(error, model)) : (response, contents);
    }

    private ModelProviderException Logged(ModelProviderException failure)
    {
        LogFailed(_logger, failure.Model ?? "", failure.Kind, failure);
        return failure;
    }

    // An {"error":…} object inside a 200 body or an SSE stream: the same mapping as an HTTP error.
    private ModelProviderException ErrorInBody(JsonElement error, string model)
    {
        var status = error.ValueKind == JsonValueKind.Object && error.TryGetProperty("code", out var code) && code.TryGetInt32(out var c) ? c : 500;
        return ProviderFailures.FromHttpStatus(ProviderNames.Gemini, model, status, ProviderErrorBody.FromError(error), null, _options.ApiKey);
    }

    // The exception to throw instead of the one caught, or null to let the caught one propagate.
    private ModelProviderException? Translate(Exception exception, string model, Deadline deadline)
    {
        ModelProviderException? failure = exception switch
        {
            // Already mapped (and logged) where it was raised.
            ModelProviderException => null,
            // The caller's own cancellation propagates as it is.
            OperationCanceledException when deadline.CallerToken.IsCancellationRequested => null,
            // Any other cancellation is a timeout: ours, or an HttpClient.Timeout shorter than ours.
            OperationCanceledException => new ModelProviderException(
                $"gemini model '{model}' did not answer within {deadline.Limit}.", ProviderNames.Gemini, model, ModelFailureKind.Timeout,
                innerException: exception),
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

    [LoggerMessage(Level = LogLevel.Debug, Message = "Calling Gemini model {Model} (stream: {Stream})")]
    private static partial void LogSending(ILogger logger, string model, bool stream);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Gemini model {Model} failed: {Kind}")]
    private static partial void LogFailed(ILogger logger, string model, ModelFailureKind kind, Exception exception);
}
