using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Ai.Gateway.Mcp;

/// <summary>
/// Checks <c>Gateway:Mcp:Servers</c> at start-up, so a typo stops the gateway with the key at fault instead of a
/// server whose tools silently never appear. A server that is down is not a configuration error (see
/// <see cref="McpToolMounter"/>).
/// </summary>
public sealed partial class McpMountOptionsValidator : IValidateOptions<McpMountOptions>
{
    private const string Section = McpMountOptions.SectionName + ":Servers";

    // Set by the transport, or by ApiKey: a configured value would clash with it.
    private static readonly HashSet<string> ReservedHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Accept", "Content-Type", "Content-Length", "Host", "Mcp-Session-Id", "Mcp-Protocol-Version", "Last-Event-ID",
    };

    public ValidateOptionsResult Validate(string? name, McpMountOptions options)
    {
        var errors = new List<string>();
        foreach (var (server, settings) in options.Servers)
        {
            var at = $"{Section}:{server}";
            if (!ServerName().IsMatch(server) || server.Contains("__", StringComparison.Ordinal) || server.EndsWith('_'))
            {
                errors.Add($"{at}: a server name is 1-32 lower-case letters, digits and single underscores, starting with a letter "
                    + "(it prefixes the server's tools as <server>__<tool>).");
            }

            if (settings is null)
            {
                errors.Add($"{at}: Url and AllowedTools are required.");
                continue;
            }

            if (!Uri.TryCreate(settings.Url, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https") || url.Host.Length == 0)
            {
                errors.Add($"{at}:Url must be an absolute http or https URL (the server's Streamable HTTP endpoint), not '{settings.Url}'.");
            }
            else if (url.UserInfo.Length > 0)
            {
                errors.Add($"{at}:Url must not carry credentials; use {at}:ApiKey or {at}:Headers.");
            }

            if (settings.AllowedTools.Count == 0)
            {
                errors.Add($"{at}:AllowedTools is required: the server's tool names to mount, or '*' to mount every tool it lists.");
            }
            else if (settings.AllowedTools.Contains("*") && settings.AllowedTools.Count > 1)
            {
                errors.Add($"{at}:AllowedTools: '*' mounts every tool, so it must be the only entry.");
            }
            else if (settings.AllowedTools.Any(string.IsNullOrWhiteSpace))
            {
                errors.Add($"{at}:AllowedTools must not hold empty names.");
            }

            foreach (var (header, value) in settings.Headers)
            {
                if (!HeaderName().IsMatch(header))
                {
                    errors.Add($"{at}:Headers: '{header}' is not an HTTP header name.");
                }
                else if (ReservedHeaders.Contains(header) || (header.Equals("Authorization", StringComparison.OrdinalIgnoreCase) && settings.ApiKey is { Length: > 0 }))
                {
                    errors.Add($"{at}:Headers:{header} is set by the gateway{(header.Equals("Authorization", StringComparison.OrdinalIgnoreCase) ? " from ApiKey" : "")}; leave it out.");
                }

                if (value is null || value.Any(c => c is '\r' or '\n' or '\0'))
                {
                    errors.Add($"{at}:Headers:{header} must be a single-line value.");
                }
            }

            if (settings.ApiKey is { } key && (key.Length == 0 || key.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))))
            {
                errors.Add($"{at}:ApiKey must be a token without spaces or control characters.");
            }

            if (settings.TimeoutSeconds is not (>= 0.01 and <= 600))
            {
                errors.Add(string.Create(CultureInfo.InvariantCulture, $"{at}:TimeoutSeconds must be between 0.01 and 600, not {settings.TimeoutSeconds}."));
            }

            if (settings.RefreshSeconds is not (>= 1 and <= 86400))
            {
                errors.Add(string.Create(CultureInfo.InvariantCulture, $"{at}:RefreshSeconds must be between 1 and 86400, not {settings.RefreshSeconds}."));
            }

            if (settings.MaxResultBytes is < 1024 or > 16 * 1024 * 1024)
            {
                errors.Add(string.Create(CultureInfo.InvariantCulture, $"{at}:MaxResultBytes must be between 1024 and 16777216, not {settings.MaxResultBytes}."));
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    [GeneratedRegex("^[a-z][a-z0-9_]{0,31}$")]
    private static partial Regex ServerName();

    // RFC 9110 token.
    [GeneratedRegex("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")]
    private static partial Regex HeaderName();
}
