using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Ai.Gateway.Usage;

/// <summary>How usage counts reach Redis (configuration section <c>Gateway:Usage</c>).</summary>
public sealed class UsageOptions
{
    public const string SectionName = "Gateway:Usage";

    /// <summary>How often a replica writes what it counted: GET /v1/usage of other replicas lags by up to this.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:05:00")]
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>While writes keep failing, one warning per this interval (with the count), not one per write.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan FailureLogInterval { get; set; } = TimeSpan.FromMinutes(1);
}

[OptionsValidator]
public sealed partial class UsageOptionsValidator : IValidateOptions<UsageOptions>;
