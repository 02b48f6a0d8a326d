using Ai.Gateway.Tools;

namespace Ai.Gateway.Generation;

/// <summary>The request is invalid; nothing reached a provider.</summary>
public sealed class GenerateValidationException(IDictionary<string, string[]> errors)
    : Exception("The request is invalid: " + string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")))
{
    public IDictionary<string, string[]> Errors { get; } = errors;
}

/// <summary>The model's answer was not the JSON asked for, even after one repair attempt.</summary>
public sealed class InvalidModelOutputException(string output, IReadOnlyList<SchemaError> errors)
    : Exception("The model's answer did not match the requested JSON.")
{
    public string Output { get; } = output;

    public IReadOnlyList<SchemaError> Errors { get; } = errors;
}

/// <summary>The whole request ran past the gateway's total timeout.</summary>
public sealed class GatewayTimeoutException(TimeSpan timeout)
    : Exception($"The request did not finish within {timeout.TotalSeconds} s.");
