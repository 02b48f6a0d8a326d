using Microsoft.Extensions.Options;

namespace Ai.Gateway.Policy;

/// <summary>
/// The rules across <see cref="GatewayPolicyOptions"/> fields, the ones Microsoft.Extensions.Http.Resilience
/// checks for its standard pipeline: an attempt fits in the request, the breaker's sampling window is at least
/// twice the attempt timeout (else a model that hangs never fails often enough within one window to open its
/// circuit), and one model's attempts with their backoff fit in the total timeout.
/// </summary>
public sealed class GatewayPolicyOptionsValidator : IValidateOptions<GatewayPolicyOptions>
{
    private const string Section = GatewayPolicyOptions.SectionName;
    private const int SamplingToAttemptRatio = 2;

    public ValidateOptionsResult Validate(string? name, GatewayPolicyOptions options)
    {
        var errors = new List<string>();
        if (!TimeZoneInfo.TryFindSystemTimeZoneById(options.DailyQuotaTimeZone, out _))
        {
            errors.Add($"{Section}:DailyQuotaTimeZone must be a time zone id (e.g. America/Los_Angeles).");
        }

        if (options.AttemptTimeout > options.TotalTimeout)
        {
            errors.Add($"{Section}:AttemptTimeout ({options.AttemptTimeout}) must not exceed {Section}:TotalTimeout ({options.TotalTimeout}).");
        }
        else
        {
            var oneModel = (options.MaxRetries + 1) * options.AttemptTimeout + RetryDelays(options);
            if (oneModel > options.TotalTimeout)
            {
                errors.Add($"{Section}:MaxRetries ({options.MaxRetries}) attempts of {Section}:AttemptTimeout ({options.AttemptTimeout}) after the first, "
                    + $"with their backoff from {Section}:RetryBaseDelay, take up to {oneModel}: more than {Section}:TotalTimeout ({options.TotalTimeout}). "
                    + "Lower the retries or the attempt timeout, or raise the total timeout.");
            }
        }

        if (options.BreakerSamplingDuration < SamplingToAttemptRatio * options.AttemptTimeout)
        {
            errors.Add($"{Section}:BreakerSamplingDuration ({options.BreakerSamplingDuration}) must be at least twice {Section}:AttemptTimeout "
                + $"({options.AttemptTimeout}): a model that hangs must be able to fail within one sampling window to open its circuit.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>The retries' backoff without jitter (as Polly computes it for exponential backoff), each capped at MaxRetryDelay.</summary>
    public static TimeSpan RetryDelays(GatewayPolicyOptions options)
    {
        var total = TimeSpan.Zero;
        for (var retry = 0; retry < options.MaxRetries; retry++)
        {
            var delay = options.RetryBaseDelay * Math.Pow(2, retry);
            total += delay < options.MaxRetryDelay ? delay : options.MaxRetryDelay;
        }

        return total;
    }
}
