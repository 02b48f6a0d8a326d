using System.Net;
using System.Net.Sockets;

namespace Ai.Gateway.Tools.BuiltIn;

/// <summary>The host rules of <see cref="HttpGetToolOptions"/>: which hosts are allowed, and which may be private.</summary>
internal static class HostAllowList
{
    public static bool IsAllowed(HttpGetToolOptions options, string host) =>
        options.AllowedHosts.Any(entry => Matches(entry, host)) || MayBePrivate(options, host);

    public static bool MayBePrivate(HttpGetToolOptions options, string host) =>
        options.AllowedPrivateHosts.Any(entry => string.Equals(Normalize(entry), Normalize(host), StringComparison.OrdinalIgnoreCase));

    private static bool Matches(string entry, string host)
    {
        entry = Normalize(entry);
        host = Normalize(host);
        return entry.StartsWith("*.", StringComparison.Ordinal)
            ? host.EndsWith(entry[1..], StringComparison.OrdinalIgnoreCase)
            : string.Equals(entry, host, StringComparison.OrdinalIgnoreCase);
    }

    // "[::1]" (as in URLs) and "::1" name the same host; a trailing dot is the same DNS name.
    private static string Normalize(string host) => host.Trim().Trim('[', ']').TrimEnd('.');

    /// <summary>Loopback, private, link-local, shared (CGNAT), multicast, reserved and unspecified addresses.</summary>
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

        return IPAddress.IsLoopback(address)
            || address.Equals(IPAddress.IPv6Any)
            || address.IsIPv6LinkLocal
            || address.IsIPv6SiteLocal
            || address.IsIPv6UniqueLocal
            || address.IsIPv6Multicast;
    }
}
