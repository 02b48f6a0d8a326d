using System.Text.Json;
using Ai.Gateway.Generation;
using Ai.Gateway.Model;
using Ai.Gateway.Policy;
using Ai.Gateway.Providers;
using Ai.Gateway.Usage;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Ai.Gateway.Caching;

/// <summary>
/// The shared response cache: exact-match answers in Redis, one key per entry (<see cref="ResponseCacheKey"/>), kept for
/// the model's <see cref="ModelCacheOptions.Ttl"/>, so every replica serves what any replica stored. Best effort: a
/// read or write that fails or takes longer than <see cref="GatewayPolicyOptions.CacheTimeout"/> is skipped and the
/// model answers. Only whole, final answers are kept: never a failure, a safety block, an answer that still wants tools,
/// a JSON answer that failed its check, or one over <see cref="ModelCacheOptions.MaxEntryBytes"/>.
/// </summary>
public sealed partial class ResponseCache(
    IConnectionMultiplexer redis,
    ModelCatalog catalog,
    UsageRecorder usage,
    IOptions<GatewayPolicyOptions> options,
    TimeProvider time,
    ILogger<ResponseCache> logger)
{
    /// <summary>Where a request's answer is (or goes) and for how long; null when the cache is not in play for it.</summary>
    internal sealed record Plan(ResponseCacheCall Call, string Key, ModelCacheOptions Settings);

    private sealed record Entry(string Model, decimal CostUsd, long CreatedUnixMs, JsonElement Response, string? JsonText, JsonElement? JsonData);

    internal Plan? PlanFor(IReadOnlyList<ChatMessage> messages, ChatOptions? chatOptions)
    {
        if (ResponseCacheCall.From(chatOptions) is not { } call || call.Mode == ResponseCacheCall.Bypass)
        {
            return null;
        }

        if (chatOptions!.ModelId is not { } modelId || catalog.Find(modelId) is not { Cache.Enabled: true } model)
        {
            call.Looked(CacheStatus.Off);
            return null;
        }

        string key;
        try
        {
            key = ResponseCacheKey.For(messages, chatOptions, call);
        }
        catch (Exception ex) when (ex is NotSupportedException or JsonException or InvalidOperationException)
        {
            // A content the key cannot describe exactly is never cached: two different requests must not share an answer.
            LogUnkeyable(logger, ex.GetType().Name);
            call.Looked(CacheStatus.Off);
            return null;
        }

        call.Looked(call.Mode == ResponseCacheCall.Refresh ? CacheStatus.Refresh : CacheStatus.Miss);
        return new Plan(call, key, model.Cache);
    }

    /// <summary>The cached answer, or null (a miss, or Redis unavailable: the status says which).</summary>
    internal async Task<ChatResponse?> LookupAsync(Plan plan, CancellationToken cancellationToken)
    {
        if (plan.Call.Mode != ResponseCacheCall.Use)
        {
            return null;
        }

        RedisValue value;
        try
        {
            value = await redis.GetDatabase().StringGetAsync(plan.Key).WaitAsync(options.Value.CacheTimeout, time, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogUnavailable(logger, "read", ex.GetType().Name);
            plan.Call.Looked(CacheStatus.Unavailable);
            return null;
        }

        if (value.IsNull || Read(value) is not { } hit)
        {
            return null;
        }

        usage.RecordCacheHit(hit.Entry.Model, hit.Entry.CostUsd);
        plan.Call.Hit(hit.Entry.Model, hit.Entry.CostUsd);
        return hit.Answer;
    }

    /// <summary>Keeps the answer when it is whole, final and small enough.</summary>
    internal async Task StoreAsync(Plan plan, ChatResponse response, ChatOptions chatOptions, bool streamed, CancellationToken cancellationToken)
    {
        if (plan.Call.Status == CacheStatus.Unavailable || Cacheable(response, chatOptions, streamed) is not { } json)
        {
            return;
        }

        byte[] bytes;
        try
        {
            var context = GatewayCallContext.From(chatOptions);
            var stored = new ChatResponse([.. response.Messages])
            {
                FinishReason = response.FinishReason,
                ResponseId = response.ResponseId,
                CreatedAt = response.CreatedAt,
            };
            var entry = new Entry(
                context?.AnsweredBy ?? response.ModelId ?? chatOptions.ModelId ?? "",
                context?.CostUsd ?? 0m,
                time.GetUtcNow().ToUnixTimeMilliseconds(),
                JsonSerializer.SerializeToElement(stored, AIJsonUtilities.DefaultOptions),
                json.Answer?.Text,
                json.Answer?.Data);
            bytes = JsonSerializer.SerializeToUtf8Bytes(entry, JsonSerializerOptions.Web);
        }
        catch (Exception ex) when (ex is NotSupportedException or JsonException or InvalidOperationException)
        {
            LogUnkeyable(logger, ex.GetType().Name);
            return;
        }

        if (bytes.Length > plan.Settings.MaxEntryBytes)
        {
            return;
        }

        try
        {
            await redis.GetDatabase().StringSetAsync(plan.Key, bytes, plan.Settings.Ttl).WaitAsync(options.Value.CacheTimeout, time, cancellationToken);
            plan.Call.WasStored();
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogUnavailable(logger, "write", ex.GetType().Name);
        }
    }

    private sealed record JsonCheck(JsonAnswer? Answer);

    // Null when the answer must not be kept; else the checked JSON answer to keep with it (when JSON was asked).
    private static JsonCheck? Cacheable(ChatResponse response, ChatOptions chatOptions, bool streamed)
    {
        if (response.FinishReason == ChatFinishReason.ContentFilter
            || ContentBlock.Find(response) is not null
            || response.Messages.SelectMany(m => m.Contents).OfType<ErrorContent>().Any()
            || ToolRounds.WantsTools(response))
        {
            return null;
        }

        if (JsonAnswer.RequestOf(chatOptions) is not { } request)
        {
            return new JsonCheck(null);
        }

        if (JsonAnswer.Of(response) is { } checkedAnswer)
        {
            return new JsonCheck(checkedAnswer);
        }

        // A stream is not repaired: it is kept only when its text passes the same check the caller's answer gets.
        if (!streamed)
        {
            return null;
        }

        var (data, errors) = JsonOutput.Check(response.Text, request.Schema);
        return errors.Count == 0 ? new JsonCheck(new JsonAnswer(data!.Value, response.Text)) : null;
    }

    private (Entry Entry, ChatResponse Answer)? Read(RedisValue value)
    {
        try
        {
            var entry = JsonSerializer.Deserialize<Entry>((byte[])value!, JsonSerializerOptions.Web)!;
            var answer = entry.Response.Deserialize<ChatResponse>(AIJsonUtilities.DefaultOptions)!;
            answer.ModelId = entry.Model;
            if (entry is { JsonText: { } text, JsonData: { } data })
            {
                JsonAnswer.Attach(answer, new JsonAnswer(data, text));
            }

            return (entry, answer);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or NullReferenceException)
        {
            LogUnreadable(logger, ex.Message);
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The response cache could not {Operation} (Redis: {Error}); the model answers instead")]
    private static partial void LogUnavailable(ILogger logger, string operation, string error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "An answer was not cached: its request or answer has content the cache cannot store exactly ({Error})")]
    private static partial void LogUnkeyable(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A cached answer could not be read and is ignored: {Error}")]
    private static partial void LogUnreadable(ILogger logger, string error);
}
