using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Ai.Gateway.Tools.BuiltIn;

/// <summary>
/// The host rules of <see cref="HttpGetToolOptions"/>: which hosts (and ports) are allowed, and which may be
/// private. An entry is <c>host</c>, <c>*.domain</c>, <c>host:port</c> or <c>[ipv6]:port</c>; an entry without a
/// port allows only the web's default ports 80 and 443, so allowing <c>127.0.0.1</c> does not open every local service.
/// </summary>
internal static class HostAllowList
{
    private static readonly int[] DefaultPorts = [80, 443];

    public static bool IsAllowed(HttpGetToolOptions options, string host, int port) =>
        options.AllowedHosts.Any(entry => Matches(entry, host, port, wildcards: true)) || MayBePrivate(options, host, port);

    public static bool MayBePrivate(HttpGetToolOptions options, string host, int port) =>
        options.AllowedPrivateHosts.Any(entry => Matches(entry, host, port, wildcards: false));

    /// <summary>Splits an entry into its host and optional port; false when it is neither <c>host</c> nor <c>host:port</c>.</summary>
    public static bool TryParse(string? entry, out string host, out int? port)
    {
        host = "";
        port = null;
        if (string.IsNullOrWhiteSpace(entry))
        {
            return false;
        }

        var text = entry.Trim();
        string? portText = null;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                return false;
            }

            (host, portText) = (text[1..close], close + 1 < text.Length ? (text[close + 1] == ':' ? text[(close + 2)..] : "x") : null);
        }
        else if (text.Count(c => c == ':') == 1)
        {
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            (host, portText) = (text[..colon], text[(colon + 1)..]);
        }
        else
        {
            // No colon, or a bare IPv6 address.
            host = text;
        }

        if (portText is not null)
        {
            if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value is < 1 or > 65535)
            {
                return false;
            }

            port = value;
        }

        var name = host.StartsWith("*.", StringComparison.Ordinal) ? host[2..] : host;
        return Uri.CheckHostName(name) != UriHostNameType.Unknown;
    }

    private static bool Matches(string entry, string host, int port, bool wildcards)
    {
        if (!TryParse(entry, out var allowed, out var allowedPort)
            || (allowedPort is { } p ? p != port : !DefaultPorts.Contains(port)))
        {
            return false;
        }

        allowed = Normalize(allowed);
        host = Normalize(host);
        return wildcards && allowed.StartsWith("*.", StringComparison.Ordinal)
            ? host.EndsWith(allowed[1..], StringComparison.OrdinalIgnoreCase)
            : string.Equals(allowed, host, StringComparison.OrdinalIgnoreCase);
    }

    // "[::1]" (as in URLs) and "::1" name the same host; a trailing dot is the same DNS name.
    private static string Normalize(string host) => host.Trim().Trim('[', ']').TrimEnd('.');

    /// <summary>
    /// Loopback, private, link-local, shared (CGNAT), multicast, reserved, documentation and unspecified addresses,
    /// and IPv6 prefixes that carry an IPv4 address to a translator or relay (NAT64 64:ff9b::/96 and 64:ff9b:1::/48,
    /// 6to4 2002::/16): through them a "public" IPv6 address can reach any IPv4 host, private ones included.
    /// </summary>
    public static bool IsNonPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return b[0] is 0 or 10 or 127 or >= 224
                || (b[0] == 100 && b[1] is >= 64 and <= 127)
                || (b[0] == 169 && b[1] == 254)
                || (b[0] == 172 && b[1] is >= 16 and <= 31)
                || (b[0] == 192 && b[1] == 168)
                || (b[0] == 192 && b[1] == 0 && b[2] is 0 or 2)
                || (b[0] == 198 && b[1] is 18 or 19)
                || (b[0] == 198 && b[1] == 51 && b[2] == 100)
                || (b[0] == 203 && b[1] == 0 && b[2] == 113);
        }

        var v6 = address.GetAddressBytes();
        return IPAddress.IsLoopback(address)
            || address.Equals(IPAddress.IPv6Any)
            || address.IsIPv6LinkLocal
            || address.IsIPv6SiteLocal
            || address.IsIPv6UniqueLocal
            || address.IsIPv6Multicast
            // NAT64: 64:ff9b::/96 (well-known) and 64:ff9b:1::/48 (local use).
            || (v6[0] == 0x00 && v6[1] == 0x64 && v6[2] == 0xff && v6[3] == 0x9b && (v6[4..12].All(x => x == 0) || (v6[4] == 0 && v6[5] == 1)))
            // 6to4: 2002::/16.
            || (v6[0] == 0x20 && v6[1] == 0x02)
            // Documentation: 2001:db8::/32, and 3fff::/20.
            || (v6[0] == 0x20 && v6[1] == 0x01 && v6[2] == 0x0d && v6[3] == 0xb8)
            || (v6[0] == 0x3f && v6[1] == 0xff && (v6[2] & 0xf0) == 0)
            // IPv4-compatible (deprecated ::a.b.c.d) and the discard prefix 100::/64.
            || (v6[..12].All(x => x == 0))
            || (v6[0] == 0x01 && v6[1] == 0x00 && v6[2..8].All(x => x == 0));
    }
}
