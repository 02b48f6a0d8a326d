using System.Security.Cryptography;
using System.Text;

namespace Communication.Bus.RateLimiting;

/// <summary>
/// The one Lua script of the distributed token bucket, and its SHA-1 for <c>EVALSHA</c>.
/// </summary>
/// <remarks>
/// <para>State: one hash per bucket, <c>KEYS[1]</c> = <c>{prefix}{bucket}</c> (the braces are the
/// cluster hash tag; the script touches no other key). Fields: <c>t</c> tokens (may be
/// fractional), <c>ts</c> last refill time (Unix ms), and with a daily quota <c>ds</c>/<c>de</c>
/// window start/end (Unix ms) and <c>dn</c> tokens used in that window.</para>
/// <para>Arguments: ARGV[1] capacity, ARGV[2] refill per second, ARGV[3] cost (0 = peek),
/// ARGV[4] now in Unix ms or empty for the server clock (<c>TIME</c>), ARGV[5] daily quota or
/// empty, ARGV[6..9] the previous day's start, today's start, today's end (= tomorrow's start)
/// and tomorrow's end, computed in .NET from the quota's time zone.</para>
/// <para>Reply (integers): allowed (0/1), remaining whole tokens, retry-after ms, daily remaining
/// (-1 = no quota), daily quota exhausted (0/1), ms until the bucket is full, ms until the daily
/// window ends (-1 = no quota).</para>
/// </remarks>
internal static class TokenBucketScript
{
    public const string Source = """
        local key = KEYS[1]
        local capacity = tonumber(ARGV[1])
        local rate = tonumber(ARGV[2])
        local cost = tonumber(ARGV[3])
        -- Floating-point slack: 1e-9 tokens, 1e-6 ms (so 0.999999999999 tokens count as 1).
        local eps = 1e-9
        local function ceil_ms(x) return math.ceil(x - 1e-6) end

        local now
        if ARGV[4] == '' then
          if redis.replicate_commands then redis.replicate_commands() end
          local t = redis.call('TIME')
          now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        else
          now = tonumber(ARGV[4])
        end

        local state = redis.call('HMGET', key, 't', 'ts', 'ds', 'de', 'dn')
        local tokens = tonumber(state[1])
        local ts = tonumber(state[2])
        if tokens == nil or ts == nil then
          tokens = capacity
          ts = now
        elseif now > ts then
          tokens = tokens + (now - ts) * rate / 1000
          ts = now
        end
        if tokens > capacity then tokens = capacity end

        local quota = tonumber(ARGV[5])
        local dstart, dend, dused = 0, 0, 0
        if quota then
          if now >= tonumber(ARGV[8]) then
            dstart, dend = tonumber(ARGV[8]), tonumber(ARGV[9])
          elseif now >= tonumber(ARGV[7]) then
            dstart, dend = tonumber(ARGV[7]), tonumber(ARGV[8])
          else
            dstart, dend = tonumber(ARGV[6]), tonumber(ARGV[7])
          end
          local sstart = tonumber(state[3])
          if sstart and sstart >= dstart then
            dstart = sstart
            dend = tonumber(state[4]) or dend
            dused = tonumber(state[5]) or 0
          end
        end

        local need = cost
        if need == 0 then need = 1 end
        local allowed, retry, exhausted = 0, 0, 0
        if quota and dused + need > quota then
          exhausted = 1
          retry = math.max(1, dend - now)
        elseif tokens + eps >= need then
          allowed = 1
        else
          retry = math.max(1, ceil_ms((need - tokens) * 1000 / rate))
        end

        if allowed == 1 and cost > 0 then
          tokens = math.max(0, tokens - cost)
          local ttl = ceil_ms((capacity - tokens) * 1000 / rate) + 1000
          if quota then
            dused = dused + cost
            ttl = math.max(ttl, dend - now + 1000)
            redis.call('HSET', key, 't', tokens, 'ts', ts, 'ds', dstart, 'de', dend, 'dn', dused)
          else
            redis.call('HSET', key, 't', tokens, 'ts', ts)
          end
          redis.call('PEXPIRE', key, math.min(ttl, 34560000000))
        end

        local dremaining, dreset = -1, -1
        if quota then
          dremaining = math.max(0, quota - dused)
          dreset = math.max(0, dend - now)
        end
        return { allowed, math.floor(tokens + eps), retry, dremaining, exhausted,
                 math.max(0, ceil_ms((capacity - tokens) * 1000 / rate)), dreset }
        """;

    /// <summary>The SHA-1 of <see cref="Source"/>, as Redis computes it for <c>EVALSHA</c>.</summary>
#pragma warning disable CA5350 // SHA-1 is what Redis names scripts by; it is an identifier here, not security.
    public static readonly byte[] Sha1 = SHA1.HashData(Encoding.UTF8.GetBytes(Source));
#pragma warning restore CA5350
}
