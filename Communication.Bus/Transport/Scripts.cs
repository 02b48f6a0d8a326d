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
    /// KEYS[1] stream, KEYS[2] dead-letter stream. ARGV[1] group, ARGV[2] entry id,
    /// ARGV[3..] the dead letter's field/value pairs. Returns the dead letter's entry id. No trimming here: dead-letter
    /// streams are capped only by <see cref="Trim"/>, which counts what it drops.
    /// </summary>
    public const string DeadLetter = """
        local id = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 3))
        redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
        return id
        """;

    /// <summary>
    /// Replays a dead letter atomically: re-appends its fields to the stream, records the new entry as the group's
    /// accepted entry for the message id, deletes the dead letter.
    /// KEYS[1] stream, KEYS[2] dead-letter stream, KEYS[3] seen key. ARGV[1] dead letter id,
    /// ARGV[2] seen TTL (ms), ARGV[3..] the field/value pairs. Returns the new entry id, or false when the dead letter is gone.
    /// </summary>
    public const string Replay = """
        if redis.call('XDEL', KEYS[2], ARGV[1]) == 0 then return false end
        local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3))
        redis.call('SET', KEYS[3], id, 'PX', ARGV[2])
        return id
        """;

    /// <summary>
    /// Publishes a message whose id the caller chose, at most once per id within the marker's lifetime.
    /// KEYS[1] stream, KEYS[2] published marker. ARGV[1] marker TTL (ms), ARGV[2..] the
    /// entry's field/value pairs. Returns the entry id: the new one, or the one the first publish created.
    /// </summary>
    public const string PublishOnce = """
        local existing = redis.call('GET', KEYS[2])
        if existing then return existing end
        local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))
        redis.call('SET', KEYS[2], id, 'PX', ARGV[1])
        return id
        """;

    /// <summary>
    /// Trims a topic's stream and its dead-letter stream without losing anything a consumer group still needs.
    /// KEYS[1] stream, KEYS[2] dead-letter stream. ARGV[1] stream cap, ARGV[2] dead-letter cap.
    /// The floor is the lowest, over every group, of its oldest pending entry id (when it has pending entries) or
    /// its last-delivered id; entries below the floor were delivered to and acknowledged by every group and are
    /// trimmed (<c>XTRIM MINID ~ … LIMIT 0</c>: whole nodes, no per-call limit). Only when the stream is still longer than the cap are entries at or above the
    /// floor dropped (<c>XTRIM MAXLEN</c>, exact): that loss is returned so the caller counts and reports it. A stream
    /// without groups is needed by nobody: it is kept near the cap (approximate) and nothing counts as dropped.
    /// Dead-letter streams have no groups; whatever the cap removes from them is dropped.
    /// Returns { trimmed, dropped, dead letters dropped }.
    /// </summary>
    public const string Trim = """
        local trimmed, dropped, dlqDropped = 0, 0, 0
        local cap = tonumber(ARGV[1])
        if redis.call('TYPE', KEYS[1])['ok'] == 'stream' then
          local floor, fms, fseq = nil, 0, 0
          for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
            local name, pending, last
            for i = 1, #g, 2 do
              if g[i] == 'name' then name = g[i + 1]
              elseif g[i] == 'pending' then pending = g[i + 1]
              elseif g[i] == 'last-delivered-id' then last = g[i + 1] end
            end
            local candidate = last
            if pending > 0 then candidate = redis.call('XPENDING', KEYS[1], name)[2] end
            local ms, seq = string.match(candidate, '^(%d+)-(%d+)$')
            ms, seq = tonumber(ms), tonumber(seq)
            if floor == nil or ms < fms or (ms == fms and seq < fseq) then floor, fms, fseq = candidate, ms, seq end
          end
          if floor == nil then
            trimmed = redis.call('XTRIM', KEYS[1], 'MAXLEN', '~', cap, 'LIMIT', 0)
          else
            if floor ~= '0-0' then trimmed = redis.call('XTRIM', KEYS[1], 'MINID', '~', floor, 'LIMIT', 0) end
            if redis.call('XLEN', KEYS[1]) > cap then
              if floor ~= '0-0' then trimmed = trimmed + redis.call('XTRIM', KEYS[1], 'MINID', floor) end
              dropped = redis.call('XTRIM', KEYS[1], 'MAXLEN', cap)
            end
          end
        end
        if redis.call('TYPE', KEYS[2])['ok'] == 'stream' then
          dlqDropped = redis.call('XTRIM', KEYS[2], 'MAXLEN', tonumber(ARGV[2]))
        end
        return { trimmed, dropped, dlqDropped }
        """;

    /// <summary>
    /// Removes the consumers of a group that have no pending entries and have been idle for at least the given time
    /// (crashed or scaled-in replicas: names are per process). A consumer with pending entries is never removed
    /// (<c>XGROUP DELCONSUMER</c> would drop them); live consumers reclaim them first.
    /// KEYS[1] stream. ARGV[1] group, ARGV[2] minimum idle time (ms), ARGV[3] the caller's own consumer (kept).
    /// Returns the removed consumer names.
    /// </summary>
    public const string RemoveIdleConsumers = """
        local removed = {}
        if redis.call('TYPE', KEYS[1])['ok'] ~= 'stream' then return removed end
        local ok, consumers = pcall(redis.call, 'XINFO', 'CONSUMERS', KEYS[1], ARGV[1])
        if not ok then return removed end
        local minIdle = tonumber(ARGV[2])
        for _, c in ipairs(consumers) do
          local name, pending, idle
          for i = 1, #c, 2 do
            if c[i] == 'name' then name = c[i + 1]
            elseif c[i] == 'pending' then pending = c[i + 1]
            elseif c[i] == 'idle' then idle = c[i + 1] end
          end
          if pending == 0 and idle >= minIdle and name ~= ARGV[3] then
            redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], name)
            removed[#removed + 1] = name
          end
        end
        return removed
        """;
}
