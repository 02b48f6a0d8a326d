using System.Text.Json.Serialization;
using Ai.Gateway.Usage;
using Microsoft.Extensions.AI;

namespace Ai.Gateway.Policy;

/// <summary>One try of one model, as the response lists it.</summary>
public sealed record AttemptRecord(
    string Model,
    string Provider,
    string Outcome,
    long LatencyMs,
    string? Error = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Kind = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? StatusCode = null)
{
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string RateLimited = "rate_limited";
    public const string CircuitOpen = "circuit_open";
}

/// <summary>
/// What happened during one gateway request, across models, retries, tool rounds and repairs:
/// every attempt, the models that answered, tokens and cost. Travels in
/// <see cref="ChatOptions.AdditionalProperties"/> so it survives the function-invocation layer.
/// </summary>
public sealed class GatewayCallContext
{
    public const string Key = "gateway.context";
    private readonly Lock _lock = new();
    private readonly List<AttemptRecord> _attempts = [];
    private readonly List<string> _fallbacks = [];

    public IReadOnlyList<AttemptRecord> Attempts
    {
        get
        {
            lock (_lock)
            {
                return [.. _attempts];
            }
        }
    }

    /// <summary>Models that answered after an earlier model of the chain failed.</summary>
    public IReadOnlyList<string> Fallbacks
    {
        get
        {
            lock (_lock)
            {
                return [.. _fallbacks];
            }
        }
    }

    /// <summary>The model that produced the last answer ("offline" when the offline provider served it).</summary>
    public string? AnsweredBy { get; private set; }

    public TokenUsage Usage { get; private set; } = TokenUsage.None;

    public decimal CostUsd { get; private set; }

    public static GatewayCallContext? From(ChatOptions? options) =>
        options?.AdditionalProperties?.TryGetValue(Key, out var value) == true ? value as GatewayCallContext : null;

    public void Attach(ChatOptions options) => (options.AdditionalProperties ??= [])[Key] = this;

    public static GatewayCallContext? From(EmbeddingGenerationOptions? options) =>
        options?.AdditionalProperties?.TryGetValue(Key, out var value) == true ? value as GatewayCallContext : null;

    public void Attach(EmbeddingGenerationOptions options) => (options.AdditionalProperties ??= [])[Key] = this;

    public void Record(AttemptRecord attempt)
    {
        lock (_lock)
        {
            _attempts.Add(attempt);
        }
    }

    public void Answered(string model, bool isFallback, TokenUsage usage, decimal cost)
    {
        lock (_lock)
        {
            AnsweredBy = model;
            if (isFallback && !_fallbacks.Contains(model))
            {
                _fallbacks.Add(model);
            }

            Usage = Usage.Add(usage);
            CostUsd += cost;
        }
    }
}
