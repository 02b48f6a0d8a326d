using System.Security.Cryptography;
using System.Text;

namespace Communication.Bus;

/// <summary>What a signing key may be used for.</summary>
public enum SigningKeyState
{
    /// <summary>Signs outgoing messages and verifies incoming ones (configuration value <c>active</c>).</summary>
    Active,

    /// <summary>Deprecated: verifies incoming messages, never signs (configuration value <c>verify-only</c>).</summary>
    VerifyOnly,
}

/// <summary>A key of the <see cref="SigningKeyRing"/>. The secret is never exposed.</summary>
public sealed class SigningKey
{
    /// <summary>The shortest secret accepted, in UTF-8 bytes.</summary>
    public const int MinimumSecretBytes = 32;

    private readonly byte[] _secret;
    private readonly ThreadLocal<IncrementalHash> _hmac;

    /// <summary>Creates a key, optionally bound to the senders it may sign for.</summary>
    /// <param name="id">The key id: <c>^[A-Za-z0-9._-]{1,64}$</c>.</param>
    /// <param name="secret">The secret; its UTF-8 bytes (at least 32) are the HMAC key.</param>
    /// <param name="state">Active or verify-only.</param>
    /// <param name="expiresAt">After this instant the key neither signs nor verifies; never when <see langword="null"/>.</param>
    /// <param name="senders">
    /// The <c>from</c> names a message signed with this key may carry: exact names, prefixes ending in <c>*</c>
    /// (<c>team.*</c>), or <c>*</c> for any. <see langword="null"/> or empty: a shared key that may sign for any sender.
    /// </param>
    /// <exception cref="ArgumentException">The id, secret or a sender pattern is not acceptable.</exception>
    public SigningKey(string id, string secret, SigningKeyState state = SigningKeyState.Active, DateTimeOffset? expiresAt = null, IEnumerable<string>? senders = null)
    {
        if (!IsValidId(id))
        {
            throw new ArgumentException($"Signing key id '{id}' must match ^[A-Za-z0-9._-]{{1,64}}$.", nameof(id));
        }

        ArgumentNullException.ThrowIfNull(secret);
        _secret = Encoding.UTF8.GetBytes(secret);
        if (_secret.Length < MinimumSecretBytes)
        {
            throw new ArgumentException($"The secret of signing key '{id}' is {_secret.Length} bytes; at least {MinimumSecretBytes} are required.", nameof(secret));
        }

        Id = id;
        State = state;
        ExpiresAt = expiresAt;
        Senders = [.. senders ?? []];
        foreach (var pattern in Senders)
        {
            if (!IsValidSenderPattern(pattern))
            {
                throw new ArgumentException($"Sender pattern '{pattern}' of signing key '{id}' must be a name ^[A-Za-z0-9._:-]{{1,200}}$, such a prefix followed by '*', or '*'.", nameof(senders));
            }
        }

        IsShared = Senders.Count == 0 || Senders.Contains("*");
        _hmac = new ThreadLocal<IncrementalHash>(() => IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, _secret));
    }

    /// <summary>The key id.</summary>
    public string Id { get; }

    /// <summary>Active (signs and verifies) or verify-only.</summary>
    public SigningKeyState State { get; }

    /// <summary>The expiry, if any.</summary>
    public DateTimeOffset? ExpiresAt { get; }

    /// <summary>
    /// The sender patterns this key is bound to (<c>Bus:Signing:Keys:N:Senders</c>): exact names, prefixes ending in
    /// <c>*</c>, or <c>*</c>. Empty for a shared key.
    /// </summary>
    public IReadOnlyList<string> Senders { get; }

    /// <summary>Whether the key may sign for any sender (no <see cref="Senders"/>, or <c>*</c>).</summary>
    public bool IsShared { get; }

    /// <summary>Whether a message signed with this key may carry <paramref name="sender"/> as its <c>from</c>.</summary>
    /// <param name="sender">The message's <c>from</c>.</param>
    public bool AllowsSender(ReadOnlySpan<char> sender) => IsShared || Matches(Senders, sender);

    /// <summary>Whether <paramref name="sender"/> matches one of <paramref name="patterns"/> (none: shared, any sender).</summary>
    internal static bool Matches(IReadOnlyList<string> patterns, ReadOnlySpan<char> sender)
    {
        if (patterns.Count == 0)
        {
            return true;
        }

        foreach (var pattern in patterns)
        {
            var matches = pattern.EndsWith('*')
                ? sender.StartsWith(pattern.AsSpan(0, pattern.Length - 1), StringComparison.Ordinal)
                : sender.SequenceEqual(pattern);
            if (matches)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Whether a sender pattern is well-formed: a name <c>^[A-Za-z0-9._:-]{1,200}$</c>, such a prefix followed by
    /// <c>*</c> (<c>team.*</c>), or <c>*</c> alone.
    /// </summary>
    /// <param name="pattern">The pattern.</param>
    public static bool IsValidSenderPattern(string? pattern)
    {
        if (pattern is null)
        {
            return false;
        }

        var prefix = pattern.EndsWith('*') ? pattern.AsSpan(0, pattern.Length - 1) : pattern.AsSpan();
        if (prefix.IsEmpty)
        {
            return pattern.Length == 1;
        }

        if (prefix.Length > BusProtocol.MaxTopicLength)
        {
            return false;
        }

        foreach (var c in prefix)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or ':' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Parses a configured sender list: comma-separated patterns, blanks ignored.</summary>
    /// <param name="senders">The configured value, e.g. <c>orchestration-api</c> or <c>team.*,reviewer</c>.</param>
    internal static IReadOnlyList<string> ParseSenders(string? senders) =>
        string.IsNullOrWhiteSpace(senders) ? [] : [.. senders.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)];

    /// <summary>Whether the key is expired at <paramref name="now"/>.</summary>
    /// <param name="now">The current time.</param>
    public bool IsExpiredAt(DateTimeOffset now) => ExpiresAt is { } expiry && now >= expiry;

    /// <summary>Whether a key id is well-formed: <c>^[A-Za-z0-9._-]{1,64}$</c>.</summary>
    /// <param name="id">The id.</param>
    public static bool IsValidId(ReadOnlySpan<char> id)
    {
        if (id.IsEmpty || id.Length > 64)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Computes HMAC-SHA256 over header then payload into <paramref name="mac"/> (32 bytes).</summary>
    internal void ComputeMac(ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload, Span<byte> mac)
    {
        var hmac = _hmac.Value!;
        hmac.AppendData(header);
        hmac.AppendData(payload);
        hmac.GetHashAndReset(mac);
    }
}
