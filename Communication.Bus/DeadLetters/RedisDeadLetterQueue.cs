using System.Globalization;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Communication.Bus;

/// <summary>The dead-letter streams <c>bus:{topic}:dlq</c>.</summary>
internal sealed class RedisDeadLetterQueue(RedisMessageBus bus, ILogger logger) : IDeadLetterQueue
{
    /// <summary>The dead letter's own fields, written first, in this order, before the original fields.</summary>
    internal static class Fields
    {
        public const string Reason = "dlq.reason";
        public const string Detail = "dlq.detail";
        public const string Group = "dlq.group";
        public const string Consumer = "dlq.consumer";
        public const string Entry = "dlq.entry";
        public const string Deliveries = "dlq.deliveries";
        public const string At = "dlq.at";
        public const int Count = 7;
    }

    public async Task<IReadOnlyList<DeadLetter>> ListAsync(string topic, int count = 100, string? after = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var key = BusProtocol.DeadLetterStreamKey(topic);
        var entries = await bus.Database.StreamRangeAsync(key, after is null ? "-" : "(" + after, "+", count).ConfigureAwait(false);
        return [.. entries.Select(e => Parse(topic, e))];
    }

    public async Task<IReadOnlyList<string>> ListTopicsAsync(CancellationToken cancellationToken = default)
    {
        const string prefix = "bus:{", suffix = "}:dlq";
        var topics = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var server in bus.Redis.GetServers().Where(s => s.IsConnected && !s.IsReplica))
        {
            await foreach (var key in server.KeysAsync(bus.Database.Database, prefix + "*" + suffix, pageSize: 500).WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                var name = key.ToString();
                var topic = name[prefix.Length..^suffix.Length];
                if (BusProtocol.IsValidName(topic))
                {
                    topics.Add(topic);
                }
            }
        }

        return [.. topics];
    }

    public Task<long> CountAsync(string topic, CancellationToken cancellationToken = default) =>
        bus.Database.StreamLengthAsync(BusProtocol.DeadLetterStreamKey(topic));

    public async Task<string> ReplayAsync(string topic, string deadLetterEntryId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(deadLetterEntryId);
        var dlqKey = BusProtocol.DeadLetterStreamKey(topic);
        var found = await bus.Database.StreamRangeAsync(dlqKey, deadLetterEntryId, deadLetterEntryId, 1).ConfigureAwait(false);
        if (found.Length == 0)
        {
            throw new KeyNotFoundException($"No dead letter '{deadLetterEntryId}' in '{dlqKey}'.");
        }

        var letter = Parse(topic, found[0]);
        if (letter.MessageId is null || !Guid.TryParseExact(letter.MessageId, "D", out _))
        {
            throw new InvalidOperationException($"Dead letter '{deadLetterEntryId}' has no valid message id; it cannot be replayed.");
        }

        var args = new List<RedisValue>(4 + (letter.Fields.Count * 2) + 2)
        {
            deadLetterEntryId,
            (long)bus.Settings.ReplayProtectionTtl.TotalMilliseconds,
        };
        foreach (var (name, value) in letter.Fields)
        {
            if (name != BusProtocol.Fields.ReplayGroup)
            {
                args.Add(name);
                args.Add(value);
            }
        }

        args.Add(BusProtocol.Fields.ReplayGroup);
        args.Add(letter.Group);
        RedisKey[] keys =
        [
            BusProtocol.StreamKey(topic),
            dlqKey,
            BusProtocol.SeenKey(topic, letter.Group, letter.MessageId.ToLowerInvariant()),
        ];
        var result = await bus.Database.ScriptEvaluateAsync(Scripts.Replay, keys, [.. args]).ConfigureAwait(false);
        if (result.IsNull)
        {
            throw new KeyNotFoundException($"Dead letter '{deadLetterEntryId}' in '{dlqKey}' was removed meanwhile.");
        }

        var entryId = result.ToString();
        Log.Replayed(logger, topic, letter.Group, deadLetterEntryId, entryId);
        return entryId;
    }

    /// <summary>Builds the field/value arguments of the dead-letter script for an entry.</summary>
    internal static List<RedisValue> BuildArguments(
        string group, string consumer, StreamEntry entry, string reason, string detail, int deliveryCount, DateTimeOffset now)
    {
        var args = new List<RedisValue>(2 + (Fields.Count * 2) + (entry.Values.Length * 2))
        {
            group,
            entry.Id,
            Fields.Reason, reason,
            Fields.Detail, detail,
            Fields.Group, group,
            Fields.Consumer, consumer,
            Fields.Entry, entry.Id,
            Fields.Deliveries, deliveryCount,
            Fields.At, now.ToUnixTimeMilliseconds(),
        };
        foreach (var field in entry.Values)
        {
            args.Add(field.Name);
            args.Add(field.Value);
        }

        return args;
    }

    private static DeadLetter Parse(string topic, StreamEntry entry)
    {
        string reason = "", detail = "", group = "", consumer = "", original = "";
        int deliveries = 0;
        long at = 0;
        var fields = new List<KeyValuePair<string, string>>(Math.Max(0, entry.Values.Length - Fields.Count));
        for (var i = 0; i < entry.Values.Length; i++)
        {
            var name = entry.Values[i].Name.ToString();
            var value = entry.Values[i].Value.ToString();
            if (i >= Fields.Count)
            {
                fields.Add(new(name, value));
                continue;
            }

            switch (name)
            {
                case Fields.Reason: reason = value; break;
                case Fields.Detail: detail = value; break;
                case Fields.Group: group = value; break;
                case Fields.Consumer: consumer = value; break;
                case Fields.Entry: original = value; break;
                case Fields.Deliveries: _ = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out deliveries); break;
                case Fields.At: _ = long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out at); break;
                default: fields.Add(new(name, value)); break;
            }
        }

        var messageId = fields.FirstOrDefault(f => f.Key == BusProtocol.Fields.Id).Value;
        return new DeadLetter(entry.Id.ToString(), topic, reason, detail, group, consumer, original, deliveries,
            DateTimeOffset.FromUnixTimeMilliseconds(at), messageId, fields);
    }
}
