namespace Communication.Bus;

/// <summary>The Lua scripts of the transport. Every key a script touches contains the topic's hash tag <c>{topic}</c>.</summary>
internal static class Scripts
{
    /// <summary>
    /// Replay protection and the exactly-once check, in one round trip.
    /// KEYS[1] seen key, KEYS[2] done key. ARGV[1] stream entry id, ARGV[2] seen TTL (ms), ARGV[3] '1' when the
    /// timestamp is within the tolerance, ARGV[4] '1' for exactly-once.
    /// Returns 1 handle, 0 replayed (the id was accepted from another entry), -1 stale (never accepted and outside the
    /// tolerance), 2 already handled (exactly-once).
    /// </summary>
    public const string Admit = """
        local seen = redis.call('GET', KEYS[1])
        if seen then
          if seen ~= ARGV[1] then return 0 end
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
        else
          if ARGV[3] ~= '1' then return -1 end
          redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        end
        if ARGV[4] == '1' and redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
        return 1
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
}
