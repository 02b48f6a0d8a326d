using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Ai.Gateway.Tools.BuiltIn;

/// <summary>Where <c>http_get</c> may go and how much it may read (configuration section <c>Tools:HttpGet</c>).</summary>
public sealed class HttpGetToolOptions : IValidatableObject
{
    public const string SectionName = "Tools:HttpGet";

    /// <summary>
    /// Host names the tool may fetch from (exact, or <c>*.example.com</c> for its subdomains), each with an
    /// optional port (<c>example.com:8443</c>, <c>[2001:db8::1]:8080</c>); without a port only 80 and 443.
    /// Empty: the tool refuses every URL. A host that resolves to a loopback, private or link-local address
    /// is refused unless it is also in <see cref="AllowedPrivateHosts"/>.
    /// </summary>
    public List<string> AllowedHosts { get; set; } = [];

    /// <summary>
    /// Hosts (exact names or IP literals, optional <c>:port</c>; without a port only 80 and 443) that may resolve
    /// to non-public addresses, e.g. an internal service: <c>127.0.0.1:8080</c> opens that one local port.
    /// </summary>
    public List<string> AllowedPrivateHosts { get; set; } = [];

    /// <summary>Most body bytes returned; a longer body is cut and reported as truncated. Default 256 KiB.</summary>
    [Range(1, 16 * 1024 * 1024)]
    public int MaxBytes { get; set; } = 256 * 1024;

    /// <summary>Longest one call may take, redirects and body included. Default 10 s.</summary>
    [Range(0.01, 300)]
    public double TimeoutSeconds { get; set; } = 10;

    /// <summary>Most redirects followed (only to allowed hosts, never https → http). Default 3.</summary>
    [Range(0, 10)]
    public int MaxRedirects { get; set; } = 3;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var (list, name) in new[] { (AllowedHosts, nameof(AllowedHosts)), (AllowedPrivateHosts, nameof(AllowedPrivateHosts)) })
        {
            foreach (var entry in list.Where(e => !IsHostPattern(e)))
            {
                yield return new ValidationResult($"Tools:HttpGet:{name} entry '{entry}' is not a host name with an optional port (no scheme or path).", [name]);
            }
        }
    }

    private static bool IsHostPattern(string? entry) => HostAllowList.TryParse(entry, out _, out _);
}

[OptionsValidator]
public sealed partial class HttpGetToolOptionsValidator : IValidateOptions<HttpGetToolOptions>;
