using System.Security.Cryptography;

namespace Communication.Bus;

/// <summary>
/// The keys this service signs and verifies with. A message is signed once per active, unexpired key bound to its
/// sender; a receiver accepts it when any signature verifies with a key it trusts (active or verify-only, unexpired)
/// that is bound to the message's <c>from</c> (<see cref="SigningKey.Senders"/>; a key without senders is shared).
/// </summary>
public sealed class SigningKeyRing
{
    private readonly Dictionary<string, SigningKey> _byId;
    private readonly Dictionary<string, SigningKey>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly SigningKey[] _signing;

    /// <summary>Creates a ring.</summary>
    /// <param name="keys">The keys; ids must be unique and at least one must be active.</param>
    /// <exception cref="ArgumentException">Duplicate ids, or no active key.</exception>
    public SigningKeyRing(IEnumerable<SigningKey> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        _byId = new Dictionary<string, SigningKey>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            if (!_byId.TryAdd(key.Id, key))
            {
                throw new ArgumentException($"Signing key id '{key.Id}' appears more than once.", nameof(keys));
            }
        }

        _lookup = _byId.GetAlternateLookup<ReadOnlySpan<char>>();
        Keys = [.. _byId.Values];
        _signing = [.. Keys.Where(k => k.State == SigningKeyState.Active)];
        if (_signing.Length == 0)
        {
            throw new ArgumentException("At least one signing key must be active.", nameof(keys));
        }
    }

    /// <summary>Creates a ring from configuration-shaped settings (validated like at start-up).</summary>
    /// <param name="settings">The key settings.</param>
    public static SigningKeyRing FromSettings(IEnumerable<SigningKeySettings> settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return new SigningKeyRing(settings.Select(s => new SigningKey(
            s.Id ?? "", s.Secret ?? "", SigningKeySettings.ParseState(s.State) ?? throw new ArgumentException($"Signing key '{s.Id}': state '{s.State}' is not 'active' or 'verify-only'."), s.ExpiresAt,
            SigningKey.ParseSenders(s.Senders))));
    }

    /// <summary>All keys.</summary>
    public IReadOnlyList<SigningKey> Keys { get; }

    /// <summary>The keys that sign at <paramref name="now"/>: active and unexpired, in configuration order.</summary>
    /// <param name="now">The current time.</param>
    public IReadOnlyList<SigningKey> GetSigningKeys(DateTimeOffset now)
    {
        foreach (var key in _signing)
        {
            if (key.IsExpiredAt(now))
            {
                return [.. _signing.Where(k => !k.IsExpiredAt(now))];
            }
        }

        return _signing;
    }

    /// <summary>
    /// The keys that sign for <paramref name="sender"/> at <paramref name="now"/>: active, unexpired and bound to the
    /// sender (or shared), in configuration order. A key bound to other senders is only used to verify their messages.
    /// </summary>
    /// <param name="now">The current time.</param>
    /// <param name="sender">The <c>from</c> of the messages to sign.</param>
    public IReadOnlyList<SigningKey> GetSigningKeys(DateTimeOffset now, string sender)
    {
        ArgumentNullException.ThrowIfNull(sender);
        var keys = GetSigningKeys(now);
        foreach (var key in keys)
        {
            if (!key.AllowsSender(sender))
            {
                return [.. keys.Where(k => k.AllowsSender(sender))];
            }
        }

        return keys;
    }

    /// <summary>Signs canonical bytes: <c>keyId:base64</c> per signing key, space-separated.</summary>
    /// <param name="keys">The signing keys (from <see cref="GetSigningKeys(DateTimeOffset, string)"/>).</param>
    /// <param name="header">The canonical header.</param>
    /// <param name="payload">The payload bytes.</param>
    internal static string Sign(IReadOnlyList<SigningKey> keys, ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload)
    {
        // keyId ':' 44 base64 chars, separated by spaces.
        var length = keys.Count - 1;
        foreach (var key in keys)
        {
            length += key.Id.Length + 1 + 44;
        }

        Span<char> chars = length <= 1024 ? stackalloc char[length] : new char[length];
        Span<byte> mac = stackalloc byte[32];
        var pos = 0;
        for (var i = 0; i < keys.Count; i++)
        {
            if (i > 0)
            {
                chars[pos++] = ' ';
            }

            var key = keys[i];
            key.Id.CopyTo(chars[pos..]);
            pos += key.Id.Length;
            chars[pos++] = ':';
            key.ComputeMac(header, payload, mac);
            Convert.TryToBase64Chars(mac, chars[pos..], out var written);
            pos += written;
        }

        return new string(chars[..pos]);
    }

    /// <summary>
    /// Verifies a (syntactically valid) signature list of a message from <paramref name="sender"/>. Returns the id of
    /// the key that verified and is bound to the sender, or <see langword="null"/> and the rejection reason:
    /// <c>sender-not-allowed</c> when a signature verifies but only with keys bound to other senders (the key ids in
    /// <paramref name="verifiedBy"/>), else <c>bad-signature</c> when a trusted key's signature does not match, else
    /// <c>expired-key</c> when a known key is expired, else <c>unknown-key</c>.
    /// </summary>
    internal string? Verify(string signature, string sender, ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload, DateTimeOffset now,
        out string? reason, out List<SigningKey>? verifiedBy)
    {
        Span<byte> expected = stackalloc byte[32];
        Span<byte> actual = stackalloc byte[33];
        bool sawBad = false, sawExpired = false;
        verifiedBy = null;
        foreach (var range in signature.AsSpan().Split(' '))
        {
            var part = signature.AsSpan(range);
            var colon = part.IndexOf(':');
            if (colon <= 0 || !_lookup.TryGetValue(part[..colon], out var key))
            {
                continue;
            }

            if (key.IsExpiredAt(now))
            {
                sawExpired = true;
                continue;
            }

            if (!Convert.TryFromBase64Chars(part[(colon + 1)..], actual, out var written) || written != 32)
            {
                sawBad = true;
                continue;
            }

            key.ComputeMac(header, payload, expected);
            if (!CryptographicOperations.FixedTimeEquals(expected, actual[..32]))
            {
                sawBad = true;
                continue;
            }

            if (key.AllowsSender(sender))
            {
                reason = null;
                verifiedBy = null;
                return key.Id;
            }

            // Authentic, but this key may not speak for the sender: another entry may still be bound to it.
            (verifiedBy ??= []).Add(key);
        }

        reason = verifiedBy is not null ? RejectionReasons.SenderNotAllowed
            : sawBad ? RejectionReasons.BadSignature : sawExpired ? RejectionReasons.ExpiredKey : RejectionReasons.UnknownKey;
        return null;
    }
}
