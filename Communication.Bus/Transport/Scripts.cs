namespace Communication.Bus;

/// <summary>The Lua scripts of the transport. Every key a script touches contains the topic's hash tag <c>{topic}</c>.</summary>
internal static class Scripts
{
    /// <summary>
    /// Replay protection and the exactly-once check for a batch of entries, in one round trip
    /// (<c>SET NX GET</c> needs Redis 7.0 or later).
    /// KEYS: seen key 1, done key 1, seen key 2, done key 2, ... ARGV[1] seen TTL (ms); then per entry i:
    /// ARGV[3i-1] stream entry id, ARGV[3i] '1' when the timestamp is within the tolerance, ARGV[3i+1] '1' for exactly-once.
    /// Returns one code per entry: 1 handle, 0 replayed (the id was accepted from another entry), -1 stale (never
    /// accepted and outside the tolerance), 2 already handled (exactly-once).
    /// </summary>
    public const string Admit = """
        local ttl = ARGV[1]
        local out = {}
        for i = 1, #KEYS / 2 do
          local seenKey, doneKey = KEYS[2 * i - 1], KEYS[2 * i]
          local entry, fresh, once = ARGV[3 * i - 1], ARGV[3 * i], ARGV[3 * i + 1]
          local r
          local seen
          if fresh == '1' then
            seen = redis.call('SET', seenKey, entry, 'NX', 'PX', ttl, 'GET')
          else
            seen = redis.call('GET', seenKey)
          end
          if seen then
            if seen ~= entry then r = 0 else redis.call('PEXPIRE', seenKey, ttl); r = 1 end
          elseif fresh ~= '1' then
            r = -1
          else
            r = 1
          end
          if r == 1 and once == '1' and redis.call('EXISTS', doneKey) == 1 then r = 2 end
          out[i] = r
        end
        return out
        """;

    /// <summary>
    /// Moves an entry to the dead-letter stream atomically.
    /// KEYS[1] stream, KEYS[2] dead-letter stream. ARGV[1] group, ARGV[2] entry id, ARGV[3] dead-letter MAXLEN,
    /// ARGV[4..] the dead letter's field/value pairs. Returns the dead letter's entry id.
    /// </summary>
    public const string DeadLetter = """
        local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(ARGV, 4))
        redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
        return id
        """;

    /// <summary>
    /// Replays a dead letter atomically: re-appends its fields to the stream, records the new entry as the group's
    /// accepted entry for the message id, deletes the dead letter.
    /// KEYS[1] stream, KEYS[2] dead-letter stream, KEYS[3] seen key. ARGV[1] dead letter id, ARGV[2] stream MAXLEN,
    /// ARGV[3] seen TTL (ms), ARGV[4..] the field/value pairs. Returns the new entry id, or false when the dead letter is gone.
    /// </summary>
    public const string Replay = """
        if redis.call('XDEL', KEYS[2], ARGV[1]) == 0 then return false end
        local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 4))
        redis.call('SET', KEYS[3], id, 'PX', ARGV[3])
        return id
        """;

    /// <summary>
    /// Publishes a message whose id the caller chose, at most once per id within the marker's lifetime.
    /// KEYS[1] stream, KEYS[2] published marker. ARGV[1] stream MAXLEN, ARGV[2] marker TTL (ms), ARGV[3..] the
    /// entry's field/value pairs. Returns the entry id: the new one, or the one the first publish created.
    /// </summary>
    public const string PublishOnce = """
        local existing = redis.call('GET', KEYS[2])
        if existing then return existing end
        local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(ARGV, 3))
        redis.call('SET', KEYS[2], id, 'PX', ARGV[2])
        return id
        """;
}
