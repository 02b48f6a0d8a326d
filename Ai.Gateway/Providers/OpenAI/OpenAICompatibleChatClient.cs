using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OpenAI;
using SdkChatClient = OpenAI.Chat.ChatClient;

namespace Ai.Gateway.Providers.OpenAI;

/// <summary>
/// An OpenAI-compatible chat-completions endpoint through the OpenAI SDK's <see cref="SdkChatClient"/> and
/// <c>AsIChatClient()</c>. This wrapper adds what the gateway needs on top: the SDK's own retries are
/// off, the request timeout is ours, and every failure becomes a <see cref="ModelProviderException"/>.
/// </summary>
public sealed partial class OpenAICompatibleChatClient : DelegatingChatClient
{
    /// <summary>The named HttpClient the registry uses (without the standard resilience handler).</summary>
    public const string HttpClientName = "openai";

    private readonly string _model;
    private readonly OpenAIOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public OpenAICompatibleChatClient(
        HttpClient httpClient,
        OpenAIOptions options,
        string model,
        TimeProvider? timeProvider = null,
        ILogger<OpenAICompatibleChatClient>? logger = null)
        : base(CreateInner(httpClient, options, model))
    {
        _model = model;
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    public override async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        using var deadline = _time.StartDeadline(_options.RequestTimeout, cancellationToken);
        try
        {
            var response = await base.GetResponseAsync(messages, options, deadline.Token);
            WithoutReasoningInOutput(response.Usage);
            return response;
        }
        catch (Exception e) when (Translate(e, deadline) is { } failure)
        {
            throw failure;
        }
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var deadline = _time.StartDeadline(_options.RequestTimeout, cancellationToken);
        var updates = base.GetStreamingResponseAsync(messages, options, deadline.Token).GetAsyncEnumerator(deadline.Token);
        await using (updates)
        {
            while (true)
            {
                deadline.Restart();
                try
                {
                    if (!await updates.MoveNextAsync())
                    {
                        yield break;
                    }
                }
                catch (Exception e) when (Translate(e, deadline) is { } failure)
                {
                    throw failure;
                }

                foreach (var usage in updates.Current.Contents.OfType<UsageContent>())
                {
                    WithoutReasoningInOutput(usage.Details);
                }

                yield return updates.Current;
            }
        }
    }

    // OpenAI counts reasoning tokens inside completion_tokens; the gateway's providers report output without them
    // (as Gemini's candidatesTokenCount does) and TokenUsage adds them back once.
    private static void WithoutReasoningInOutput(UsageDetails? usage)
    {
        if (usage is { OutputTokenCount: { } output, ReasoningTokenCount: { } reasoning } && reasoning <= output)
        {
            usage.OutputTokenCount = output - reasoning;
        }
    }

    private static IChatClient CreateInner(HttpClient httpClient, OpenAIOptions options, string model)
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

        // Local servers (Ollama, vLLM) accept any bearer token; the SDK insists on one.
        var key = string.IsNullOrWhiteSpace(options.ApiKey) ? "no-key" : options.ApiKey;
        return new SdkChatClient(model, new ApiKeyCredential(key), clientOptions).AsIChatClient();
    }

    // The exception to throw instead of the one caught, or null to let the caught one propagate.
    private ModelProviderException? Translate(Exception exception, Deadline deadline)
    {
        ModelProviderException? failure = exception switch
        {
            ModelProviderException => null,
            // The caller's own cancellation propagates as it is.
            OperationCanceledException when deadline.CallerToken.IsCancellationRequested => null,
            // Our deadline, or the SDK's NetworkTimeout (the same value) firing first.
            OperationCanceledException => new ModelProviderException(
                $"openai model '{_model}' did not answer within {deadline.Limit}.", ProviderNames.OpenAI, _model, ModelFailureKind.Timeout,
                innerException: exception),
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
