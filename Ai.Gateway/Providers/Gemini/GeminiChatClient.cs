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
public sealed class GeminiChatClient : IChatClient
{
    /// <summary>The OpenTelemetry <c>gen_ai.provider.name</c> of the Gemini Developer API.</summary>
    public const string ProviderName = "gcp.gemini";

    /// <summary>The named HttpClient the registry uses (without the standard resilience handler).</summary>
    public const string HttpClientName = "gemini";

    private readonly GeminiTransport _transport;
    private readonly GeminiOptions _options;
    private readonly string? _defaultModelId;
    private readonly TimeProvider _time;
    private readonly ChatClientMetadata _metadata;

    public GeminiChatClient(
        HttpClient httpClient,
        GeminiOptions options,
        string? defaultModelId = null,
        TimeProvider? timeProvider = null,
        ILogger<GeminiChatClient>? logger = null)
    {
        _transport = new GeminiTransport(httpClient, options, timeProvider, (ILogger?)logger ?? NullLogger.Instance);
        _options = options;
        _defaultModelId = defaultModelId;
        _time = timeProvider ?? TimeProvider.System;
        _metadata = new ChatClientMetadata(ProviderName, _transport.BaseUri, defaultModelId);
    }

    public async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var model = ModelId(options);
        var body = GeminiRequestBuilder.Build(messages, options, options?.RawRepresentationFactory?.Invoke(this) as JsonObject);
        using var deadline = _time.StartDeadline(_options.RequestTimeout, cancellationToken);
        try
        {
            using var response = await _transport.SendAsync(model, "generateContent", body, deadline);
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
        catch (Exception e) when (_transport.Translate(e, model, deadline) is { } failure)
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
            response = await _transport.SendAsync(model, "streamGenerateContent?alt=sse", body, deadline);
            var stream = await response.Content.ReadAsStreamAsync(deadline.Token);
            // SseParser handles \r\n, \n and \r line ends and joins multi-line data fields.
            events = SseParser.Create(stream).EnumerateAsync(deadline.Token).GetAsyncEnumerator(deadline.Token);
        }
        catch (Exception e)
        {
            response?.Dispose();
            if (_transport.Translate(e, model, deadline) is { } failure)
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
                catch (Exception e) when (_transport.Translate(e, model, deadline) is { } failure)
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
                throw _transport.Logged(new ModelProviderException($"gemini model '{model}' answered with an empty stream.",
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

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        ProviderServices.Get(this, _metadata, serviceType, serviceKey);

    // The HttpClient belongs to IHttpClientFactory (or the caller); nothing to release here.
    public void Dispose()
    {
    }

    private string ModelId(ChatOptions? options)
    {
        var model = options?.ModelId ?? _defaultModelId
            ?? throw new InvalidOperationException("No model id: set ChatOptions.ModelId or the client's default model.");
        return GeminiTransport.BareModel(model);
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
            throw _transport.Logged(new ModelProviderException($"gemini model '{model}' answered with a body that is not a GenerateContentResponse: {e.Message}",
                ProviderNames.Gemini, model, ModelFailureKind.InvalidResponse, innerException: e));
        }

        return response.Error is { } error ? throw _transport.Logged(_transport.ErrorInBody(error, model)) : (response, contents);
    }
}
