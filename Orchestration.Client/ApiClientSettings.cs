using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Orchestration.Client;

/// <summary>
/// Where a typed client sends its requests and with which API key; bound from <c>Clients:&lt;connectionName&gt;</c>
/// (for example <c>Clients:orchestration-api:ApiKey</c>) and validated at start-up.
/// </summary>
public sealed class ApiClientSettings
{
    /// <summary>The configuration section that holds one sub-section per connection name.</summary>
    public const string SectionName = "Clients";

    /// <summary>The shortest API key the services accept.</summary>
    public const int MinimumApiKeyLength = 16;

    /// <summary>
    /// The service's base address. Default <c>https+http://&lt;connectionName&gt;</c>, which service discovery resolves
    /// to the AppHost resource of that name (HTTPS when it has such an endpoint, else HTTP).
    /// </summary>
    public Uri? BaseAddress { get; set; }

    /// <summary>
    /// The API key sent as <c>X-Api-Key</c> on every request. Leave it empty when the application sets a key per
    /// request itself (for example the console, which calls with the signed-in user's key).
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// The longest a call may take until the response headers arrive. Default 30 seconds. Streams (run events)
    /// are not limited once their headers have arrived.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>Checks a named <see cref="ApiClientSettings"/>; messages name the configuration key at fault.</summary>
internal sealed class ApiClientSettingsValidator : IValidateOptions<ApiClientSettings>
{
    public ValidateOptionsResult Validate(string? name, ApiClientSettings options)
    {
        var prefix = $"{ApiClientSettings.SectionName}:{name}";
        var failures = new List<string>();
        if (options.BaseAddress is null || !options.BaseAddress.IsAbsoluteUri)
        {
            failures.Add($"{prefix}:BaseAddress must be an absolute URI such as 'https+http://{name}' or 'http://localhost:5180'.");
        }

        if (!string.IsNullOrEmpty(options.ApiKey) && options.ApiKey.Length < ApiClientSettings.MinimumApiKeyLength)
        {
            failures.Add($"{prefix}:ApiKey must be at least {ApiClientSettings.MinimumApiKeyLength} characters (or empty when the application sends keys itself).");
        }

        if (options.Timeout < TimeSpan.FromSeconds(1) || options.Timeout > TimeSpan.FromHours(1))
        {
            failures.Add($"{prefix}:Timeout must be between 00:00:01 and 01:00:00.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
