using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace Ai.Gateway.Tools.BuiltIn;

/// <summary>A host of <c>http_get</c> resolved to an address it may not reach.</summary>
internal sealed class NonPublicAddressException(string host)
    : IOException($"The host '{host}' resolves to a loopback or private address; list it (with its port unless 80/443) in Tools:HttpGet:AllowedPrivateHosts to allow it.")
{
    public string Host { get; } = host;
}

/// <summary>
/// The connect step of <c>http_get</c>'s handler: resolves the host itself and refuses non-public
/// addresses unless the host may be private. Checking the addresses it then connects to (rather
/// than resolving twice) leaves no room for DNS rebinding.
/// </summary>
internal sealed class GuardedConnector(IOptionsMonitor<HttpGetToolOptions> options)
{
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(host, cancellationToken);

        if (!HostAllowList.MayBePrivate(options.CurrentValue, host, context.DnsEndPoint.Port) && addresses.Any(HostAllowList.IsNonPublic))
        {
            throw new NonPublicAddressException(host);
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, context.DnsEndPoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
