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

    /// <summary>Creates a key.</summary>
    /// <param name="id">The key id: <c>^[A-Za-z0-9._-]{1,64}$</c>.</param>
    /// <param name="secret">The secret; its UTF-8 bytes (at least 32) are the HMAC key.</param>
    /// <param name="state">Active or verify-only.</param>
    /// <param name="expiresAt">After this instant the key neither signs nor verifies; never when <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">The id or secret is not acceptable.</exception>
    public SigningKey(string id, string secret, SigningKeyState state = SigningKeyState.Active, DateTimeOffset? expiresAt = null)
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
        _hmac = new ThreadLocal<IncrementalHash>(() => IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, _secret));
    }

    /// <summary>The key id.</summary>
    public string Id { get; }

    /// <summary>Active (signs and verifies) or verify-only.</summary>
    public SigningKeyState State { get; }

    /// <summary>The expiry, if any.</summary>
    public DateTimeOffset? ExpiresAt { get; }

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
