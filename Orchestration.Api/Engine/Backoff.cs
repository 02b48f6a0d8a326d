using System.Security.Cryptography;
using System.Text;
using Orchestration.Api.Model;

namespace Orchestration.Api.Engine;

public static class Backoff
{
    /// <summary>
    /// The delay before the attempt after <paramref name="failedAttempt"/>: base·2^(n-1), base·n or
    /// base, capped at maxMs. With jitter the delay is drawn from [delay/2, delay] by a hash of the
    /// run, step and attempt, so every replica computes the same value.
    /// </summary>
    public static TimeSpan Delay(BackoffPolicy policy, int failedAttempt, string runId, string stepId)
    {
        var n = Math.Max(1, failedAttempt);
        var raw = policy.Type switch
        {
            BackoffType.Exponential => policy.BaseMs * Math.Pow(2, Math.Min(n - 1, 40)),
            BackoffType.Linear => (double)policy.BaseMs * n,
            _ => policy.BaseMs,
        };
        var capped = Math.Min(raw, policy.MaxMs);
        if (policy.Jitter)
        {
            capped = (capped / 2) + (UnitFraction($"{runId}/{stepId}/{n}") * capped / 2);
        }

        return TimeSpan.FromMilliseconds(Math.Round(capped));
    }

    private static double UnitFraction(string seed)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(seed), hash);
        return BitConverter.ToUInt64(hash) / (double)ulong.MaxValue;
    }
}

/// <summary>Name-based UUIDs (RFC 9562 version 5): the same run, step and attempt always get the same message id.</summary>
public static class DeterministicGuid
{
    private static readonly byte[] Namespace = Guid.Parse("7c6f1b0e-4d1a-4f7e-9b55-2f0d6c8a9e31").ToByteArray(bigEndian: true);

    public static Guid Create(string name)
    {
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var data = new byte[Namespace.Length + nameBytes.Length];
        Namespace.CopyTo(data, 0);
        nameBytes.CopyTo(data, Namespace.Length);
#pragma warning disable CA5350 // SHA-1 is what RFC 9562 specifies for version 5 UUIDs; it is not used for security.
        var hash = SHA1.HashData(data);
#pragma warning restore CA5350
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash.AsSpan(0, 16), bigEndian: true);
    }
}
