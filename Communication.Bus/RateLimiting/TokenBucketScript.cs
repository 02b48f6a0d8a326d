using System.Security.Cryptography;
using System.Text;

namespace Communication.Bus.RateLimiting;

/// <summary>
/// The one Lua script of the distributed token bucket, and its SHA-1 for <c>EVALSHA</c>.
/// </summary>
/// <remarks>
/// <para>State: one string per bucket, <c>KEYS[1]</c> = <c>{prefix}{bucket}</c> (the braces are
/// the cluster hash tag; the script touches no other key), holding 40 bytes: five little-endian
/// IEEE doubles packed with Redis' <c>struct</c> library (<c>'&lt;ddddd'</c>): tokens (may be
/// fractional), last refill time (Unix ms), daily window start and end (Unix ms, 0 without a
/// quota) and tokens used in that window. One <c>GET</c> and, when something was granted, one
/// <c>SET … PX</c> per call (plus <c>TIME</c> in server-time mode), however many requests the call
/// decides. Binary rather than a hash or text: formatting and parsing numbers as text cost more
/// server time than all the bucket arithmetic (measured, see docs/RATE_LIMITING.md), and server
/// time per call bounds throughput.</para>
/// <para>Arguments: ARGV[1] capacity, ARGV[2] refill per second, ARGV[3] now in Unix ms or empty
/// for the server clock (<c>TIME</c>), ARGV[4] daily quota or empty, ARGV[5..8] the previous
/// day's start, today's start, today's end (= tomorrow's start) and tomorrow's end, computed in
/// .NET from the quota's time zone (empty without a quota), ARGV[9..] the costs of one or more
/// requests (0 = peek), decided one after the other at the same instant (a batch).</para>
/// <para>Reply: seven integers per request: allowed (0/1), remaining whole tokens, retry-after ms,
/// daily remaining (-1 = no quota), daily quota exhausted (0/1), ms until the bucket is full, ms
/// until the daily window ends (-1 = no quota).</para>
/// </remarks>
internal static class TokenBucketScript
{
    /// <summary>The index (0-based, in ARGV) of the first cost.</summary>
    public const int FirstCostArgument = 8;

    /// <summary>The integers in the reply per request.</summary>
    public const int ReplyWidth = 7;

    public const string Source = """
        local key = KEYS[1]
        local capacity = tonumber(ARGV[1])
        local rate = tonumber(ARGV[2])

        local now
        if ARGV[3] == '' then
          local t = redis.call('TIME')
          now = t[1] * 1000 + math.floor(t[2] / 1000)
        else
          now = tonumber(ARGV[3])
        end

        -- Missing key: a full bucket (so is a value of another type or layout, which the SET
        -- below replaces). Refill only on a positive delta from the stored time.
        local tokens, ts, dstart, dend, dused = capacity, now, 0, 0, 0
        local raw = redis.pcall('GET', key)
        if type(raw) == 'string' and #raw == 40 then
          tokens, ts, dstart, dend, dused = struct.unpack('<ddddd', raw)
          if now > ts then
            tokens = tokens + (now - ts) * rate / 1000
            ts = now
          end
          if tokens > capacity then tokens = capacity end
        end

        local quota = tonumber(ARGV[4])
        if quota then
          -- The window that contains now; a stored newer window (a caller whose clock runs
          -- ahead already started it) wins, an older one is over.
          local w0, w1, w2, w3 = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
          local s, e = w0, w1
          if now >= w2 then s, e = w2, w3 elseif now >= w1 then s, e = w1, w2 end
          if s > dstart then dstart, dend, dused = s, e, 0 end
        end

        -- Floating-point slack: 1e-9 tokens (0.999999999999 tokens count as 1), 1e-6 ms.
        local reply, n, granted = {}, 0, false
        for i = 9, #ARGV do
          local cost = tonumber(ARGV[i])
          local need = cost
          if need == 0 then need = 1 end
          local allowed, retry, exhausted = 0, 0, 0
          if quota and dused + need > quota then
            exhausted = 1
            retry = math.max(1, dend - now)
          elseif tokens + 1e-9 >= need then
            allowed = 1
            if cost > 0 then
              tokens = math.max(0, tokens - cost)
              if quota then dused = dused + cost end
              granted = true
            end
          else
            retry = math.max(1, math.ceil((need - tokens) * 1000 / rate - 1e-6))
          end

          local dremaining, dreset = -1, -1
          if quota then
            dremaining = math.max(0, quota - dused)
            dreset = math.max(0, dend - now)
          end
          reply[n + 1] = allowed
          reply[n + 2] = math.floor(tokens + 1e-9)
          reply[n + 3] = retry
          reply[n + 4] = dremaining
          reply[n + 5] = exhausted
          reply[n + 6] = math.max(0, math.ceil((capacity - tokens) * 1000 / rate - 1e-6))
          reply[n + 7] = dreset
          n = n + 7
        end

        if granted then
          -- Keep the key until the bucket is full again (then a missing key means the same),
          -- and while a daily window is counting.
          local ttl = math.ceil((capacity - tokens) * 1000 / rate - 1e-6) + 1000
          if dend - now + 1000 > ttl then ttl = dend - now + 1000 end
          if ttl > 34560000000 then ttl = 34560000000 end
          redis.call('SET', key, struct.pack('<ddddd', tokens, ts, dstart, dend, dused), 'PX', ttl)
        end

        return reply
        """;

    /// <summary>The SHA-1 of <see cref="Source"/>, as Redis computes it for <c>EVALSHA</c>.</summary>
#pragma warning disable CA5350 // SHA-1 is what Redis names scripts by; it is an identifier here, not security.
    public static readonly byte[] Sha1 = SHA1.HashData(Encoding.UTF8.GetBytes(Source));
#pragma warning restore CA5350
}
