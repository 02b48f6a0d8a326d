using Microsoft.Extensions.Options;

namespace Communication.Bus.RateLimiting;

/// <summary>Validates the DataAnnotations of <see cref="TokenBucketOptions"/> (source-generated, no reflection).</summary>
[OptionsValidator]
internal sealed partial class TokenBucketOptionsAnnotationsValidator : IValidateOptions<TokenBucketOptions>;

/// <summary>
/// Validates <see cref="TokenBucketOptions"/> at start-up: the annotations, plus the rules they
/// cannot express (defined enum values, a positive or infinite command timeout).
/// </summary>
internal sealed class TokenBucketOptionsValidator : IValidateOptions<TokenBucketOptions>
{
    private static readonly TimeSpan MaxCommandTimeout = TimeSpan.FromMinutes(1);
    private readonly TokenBucketOptionsAnnotationsValidator _annotations = new();

    public ValidateOptionsResult Validate(string? name, TokenBucketOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var builder = new ValidateOptionsResultBuilder();
        builder.AddResult(_annotations.Validate(name, options));
        if (!Enum.IsDefined(options.TimeSource))
        {
            builder.AddError($"Unknown time source '{options.TimeSource}'.", nameof(options.TimeSource));
        }

        if (!Enum.IsDefined(options.FailurePolicy))
        {
            builder.AddError($"Unknown failure policy '{options.FailurePolicy}'.", nameof(options.FailurePolicy));
        }

        if (options.CommandTimeout != Timeout.InfiniteTimeSpan &&
            (options.CommandTimeout < TimeSpan.FromMilliseconds(1) || options.CommandTimeout > MaxCommandTimeout))
        {
            builder.AddError($"The command timeout must be between 1 ms and {MaxCommandTimeout}, or infinite (-00:00:00.001).",
                nameof(options.CommandTimeout));
        }

        return builder.Build();
    }

    /// <summary>Throws <see cref="OptionsValidationException"/> when the options are invalid (for use without a host).</summary>
    public static void ThrowIfInvalid(TokenBucketOptions options)
    {
        var result = new TokenBucketOptionsValidator().Validate(Options.DefaultName, options);
        if (result.Failed)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(TokenBucketOptions), result.Failures);
        }
    }
}
