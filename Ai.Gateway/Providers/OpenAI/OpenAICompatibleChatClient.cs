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
public sealed class OpenAICompatibleChatClient : DelegatingChatClient
{
    /// <summary>The named HttpClient the registry uses (without the standard resilience handler).</summary>
    public const string HttpClientName = "openai";

    private readonly OpenAIOptions _options;
    private readonly TimeProvider _time;
    private readonly OpenAITransport _transport;

    public OpenAICompatibleChatClient(
        HttpClient httpClient,
        OpenAIOptions options,
        string model,
        TimeProvider? timeProvider = null,
        ILogger<OpenAICompatibleChatClient>? logger = null)
        : base(CreateInner(httpClient, options, model))
    {
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _transport = new OpenAITransport(model, options, _time, (ILogger?)logger ?? NullLogger.Instance);
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
        catch (Exception e) when (_transport.Translate(e, deadline) is { } failure)
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
                catch (Exception e) when (_transport.Translate(e, deadline) is { } failure)
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
        return new SdkChatClient(model, OpenAITransport.Credential(options), OpenAITransport.ClientOptions(httpClient, options)).AsIChatClient();
    }
}
