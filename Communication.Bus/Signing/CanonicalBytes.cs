using System.Buffers;
using System.Globalization;
using System.Text;

namespace Communication.Bus;

/// <summary>
/// The canonical byte string v1 that is signed (docs/PROTOCOL.md): the UTF-8 of
/// <c>"bus.v1\n" id "\n" ts "\n" type "\n" qos "\n" topic "\n" from "\n" toJoined "\n" correlationId "\n" replyTo "\n"</c>
/// followed by the payload's exact bytes, where <c>toJoined</c> is the recipients joined by <c>","</c>.
/// </summary>
public static class CanonicalBytes
{
    private static ReadOnlySpan<byte> Prefix => "bus.v1\n"u8;

    /// <summary>Builds the whole canonical byte string (header and payload) as a new array, for tests and tools.</summary>
    /// <param name="id">The message id.</param>
    /// <param name="timestamp">The unix-ms timestamp.</param>
    /// <param name="type">The message type.</param>
    /// <param name="qos">The quality of service.</param>
    /// <param name="topic">The topic.</param>
    /// <param name="from">The sender.</param>
    /// <param name="to">The recipients.</param>
    /// <param name="correlationId">The correlation id or <see langword="null"/>.</param>
    /// <param name="replyTo">The reply topic or <see langword="null"/>.</param>
    /// <param name="payload">The payload's exact bytes.</param>
    public static byte[] Build(
        string id, long timestamp, MessageType type, QualityOfService qos, string topic, string from,
        IReadOnlyList<string> to, string? correlationId, string? replyTo, ReadOnlySpan<byte> payload)
    {
        ArgumentNullException.ThrowIfNull(to);
        var header = new byte[MaxHeaderLength(id, topic, from, to, correlationId, replyTo)];
        var length = WriteHeader(header, id, timestamp, type, qos, topic, from, to, correlationId, replyTo);
        return [.. header.AsSpan(0, length), .. payload];
    }

    /// <summary>An upper bound of the header's length in bytes.</summary>
    internal static int MaxHeaderLength(string id, string topic, string from, IReadOnlyList<string> to, string? correlationId, string? replyTo)
    {
        var chars = id.Length + topic.Length + from.Length + (correlationId?.Length ?? 0) + (replyTo?.Length ?? 0) + to.Count;
        foreach (var r in to)
        {
            chars += r.Length;
        }

        // 3 bytes per UTF-16 unit is the UTF-8 worst case; 20 digits of ts; 15 for the longest type; 13 for qos; 9 newlines.
        return Prefix.Length + (chars * 3) + 20 + 15 + 13 + 9;
    }

    /// <summary>Writes the header into <paramref name="destination"/> and returns the number of bytes written.</summary>
    internal static int WriteHeader(
        Span<byte> destination, string id, long timestamp, MessageType type, QualityOfService qos, string topic, string from,
        IReadOnlyList<string> to, string? correlationId, string? replyTo)
    {
        var pos = 0;
        Prefix.CopyTo(destination);
        pos += Prefix.Length;
        pos += Encoding.UTF8.GetBytes(id, destination[pos..]);
        destination[pos++] = (byte)'\n';
        timestamp.TryFormat(destination[pos..], out var written, default, CultureInfo.InvariantCulture);
        pos += written;
        destination[pos++] = (byte)'\n';
        pos += Encoding.UTF8.GetBytes(type.ToWireName(), destination[pos..]);
        destination[pos++] = (byte)'\n';
        pos += Encoding.UTF8.GetBytes(qos.ToWireName(), destination[pos..]);
        destination[pos++] = (byte)'\n';
        pos += Encoding.UTF8.GetBytes(topic, destination[pos..]);
        destination[pos++] = (byte)'\n';
        pos += Encoding.UTF8.GetBytes(from, destination[pos..]);
        destination[pos++] = (byte)'\n';
        for (var i = 0; i < to.Count; i++)
        {
            if (i > 0)
            {
                destination[pos++] = (byte)',';
            }

            pos += Encoding.UTF8.GetBytes(to[i], destination[pos..]);
        }

        destination[pos++] = (byte)'\n';
        pos += Encoding.UTF8.GetBytes(correlationId ?? "", destination[pos..]);
        destination[pos++] = (byte)'\n';
        pos += Encoding.UTF8.GetBytes(replyTo ?? "", destination[pos..]);
        destination[pos++] = (byte)'\n';
        return pos;
    }

    /// <summary>A header buffer: on the stack's behalf when small, else rented; dispose returns it.</summary>
    internal ref struct HeaderBuffer
    {
        private byte[]? _rented;

        public HeaderBuffer(int maxLength, Span<byte> stackBuffer)
        {
            if (maxLength <= stackBuffer.Length)
            {
                Span = stackBuffer;
                _rented = null;
            }
            else
            {
                _rented = ArrayPool<byte>.Shared.Rent(maxLength);
                Span = _rented;
            }
        }

        public Span<byte> Span { get; }

        public void Dispose()
        {
            if (_rented is not null)
            {
                ArrayPool<byte>.Shared.Return(_rented);
                _rented = null;
            }
        }
    }
}
