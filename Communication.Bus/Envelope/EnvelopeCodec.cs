using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using StackExchange.Redis;

namespace Communication.Bus;

/// <summary>Validates envelopes and converts them from and to the flat fields of a stream entry.</summary>
internal static class EnvelopeCodec
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    /// <summary>Reads and validates a stream entry. Returns <see langword="null"/> with the errors when invalid.</summary>
    public static Envelope? TryRead(NameValueEntry[] values, string expectedTopic, EnvelopeLimits limits, List<EnvelopeError> errors, out bool unsigned)
    {
        unsigned = false;
        string? v = null, id = null, ts = null, type = null, qos = null, topic = null, from = null,
            correlationId = null, replyTo = null, keyId = null, sig = null;
        ReadOnlyMemory<byte>? payload = null, to = null, meta = null;

        foreach (var entry in values)
        {
            // Field names are matched on their bytes: no string per name on the hot path.
            var name = ((ReadOnlyMemory<byte>)entry.Name).Span;
            switch (name.Length)
            {
                case 1 when name[0] == (byte)'v': Set(ref v, entry.Value, BusProtocol.Fields.Version, errors); break;
                case 2 when name.SequenceEqual("id"u8): Set(ref id, entry.Value, BusProtocol.Fields.Id, errors); break;
                case 2 when name.SequenceEqual("ts"u8): Set(ref ts, entry.Value, BusProtocol.Fields.Timestamp, errors); break;
                case 2 when name.SequenceEqual("to"u8): SetBytes(ref to, entry.Value, BusProtocol.Fields.To, errors); break;
                case 3 when name.SequenceEqual("qos"u8): Set(ref qos, entry.Value, BusProtocol.Fields.Qos, errors); break;
                case 3 when name.SequenceEqual("sig"u8): Set(ref sig, entry.Value, BusProtocol.Fields.Signature, errors); break;
                case 4 when name.SequenceEqual("type"u8): Set(ref type, entry.Value, BusProtocol.Fields.Type, errors); break;
                case 4 when name.SequenceEqual("from"u8): Set(ref from, entry.Value, BusProtocol.Fields.From, errors); break;
                case 4 when name.SequenceEqual("meta"u8): SetBytes(ref meta, entry.Value, BusProtocol.Fields.Meta, errors); break;
                case 5 when name.SequenceEqual("topic"u8): Set(ref topic, entry.Value, BusProtocol.Fields.Topic, errors); break;
                case 5 when name.SequenceEqual("keyId"u8): Set(ref keyId, entry.Value, BusProtocol.Fields.KeyId, errors); break;
                case 7 when name.SequenceEqual("payload"u8): SetBytes(ref payload, entry.Value, BusProtocol.Fields.Payload, errors); break;
                case 7 when name.SequenceEqual("replyTo"u8): Set(ref replyTo, entry.Value, BusProtocol.Fields.ReplyTo, errors); break;
                case 13 when name.SequenceEqual("correlationId"u8): Set(ref correlationId, entry.Value, BusProtocol.Fields.CorrelationId, errors); break;
                default: break; // unknown fields are ignored (forward compatibility)
            }
        }

        if (v is null)
        {
            errors.Add(new(BusProtocol.Fields.Version, "is missing"));
        }
        else if (v != BusProtocol.Version)
        {
            errors.Add(new(BusProtocol.Fields.Version, $"unsupported protocol version '{Truncate(v)}' (expected '1')"));
        }

        ValidateId(id, errors);
        var timestamp = ValidateTimestamp(ts, errors);
        MessageType parsedType = default;
        if (type is null)
        {
            errors.Add(new(BusProtocol.Fields.Type, "is missing"));
        }
        else if (!BusProtocol.TryParseMessageType(type, out parsedType))
        {
            errors.Add(new(BusProtocol.Fields.Type, $"'{Truncate(type)}' is not one of TASK, TASK_RESULT, EVENT, TOOL_CALL, DEBATE_PROPOSAL, DEBATE_CRITIQUE, DEBATE_DECISION"));
        }

        QualityOfService parsedQos = default;
        if (qos is null)
        {
            errors.Add(new(BusProtocol.Fields.Qos, "is missing"));
        }
        else if (!BusProtocol.TryParseQualityOfService(qos, out parsedQos))
        {
            errors.Add(new(BusProtocol.Fields.Qos, $"'{Truncate(qos)}' is not one of at-most-once, at-least-once, exactly-once"));
        }

        if (topic is null)
        {
            errors.Add(new(BusProtocol.Fields.Topic, "is missing"));
        }
        else if (!BusProtocol.IsValidName(topic))
        {
            errors.Add(new(BusProtocol.Fields.Topic, "must match ^[A-Za-z0-9._:-]{1,200}$"));
        }
        else if (!string.Equals(topic, expectedTopic, StringComparison.Ordinal))
        {
            errors.Add(new(BusProtocol.Fields.Topic, $"'{topic}' does not match the stream's topic '{expectedTopic}'"));
        }

        ValidateName(BusProtocol.Fields.From, from, required: true, errors);
        var recipients = to is null ? null : ParseRecipients(to.Value.Span, errors);
        if (to is null)
        {
            errors.Add(new(BusProtocol.Fields.To, "is missing"));
        }

        ValidateName(BusProtocol.Fields.CorrelationId, correlationId, required: false, errors);
        if (!string.IsNullOrEmpty(replyTo) && !BusProtocol.IsValidName(replyTo))
        {
            errors.Add(new(BusProtocol.Fields.ReplyTo, "must be empty or a topic matching ^[A-Za-z0-9._:-]{1,200}$"));
        }

        var metaMap = meta is null ? [] : ParseMeta(meta.Value.Span, errors);
        if (payload is null)
        {
            errors.Add(new(BusProtocol.Fields.Payload, "is missing"));
        }
        else if (!errors.Exists(e => e.Field == BusProtocol.Fields.Payload))
        {
            ValidatePayload(payload.Value.Span, limits, errors);
        }

        if (string.IsNullOrEmpty(sig))
        {
            unsigned = errors.Count == 0;
            if (!unsigned)
            {
                errors.Add(new(BusProtocol.Fields.Signature, "is missing"));
            }
        }
        else
        {
            ValidateSignatureSyntax(sig, keyId, errors);
        }

        if (errors.Count > 0 || unsigned)
        {
            return null;
        }

        return new Envelope
        {
            Id = id!,
            Timestamp = timestamp,
            Type = parsedType,
            Qos = parsedQos,
            Topic = topic!,
            From = from!,
            To = recipients!,
            CorrelationId = correlationId ?? "",
            ReplyTo = replyTo ?? "",
            Meta = metaMap,
            Payload = payload!.Value,
            KeyId = keyId!,
            Signature = sig!,
        };
    }

    /// <summary>Validates an outgoing message (after the bus filled in id and sender).</summary>
    public static void ValidateOutgoing(OutgoingMessage message, string id, string from, EnvelopeLimits limits, List<EnvelopeError> errors)
    {
        ValidateId(id, errors);
        if (!Enum.IsDefined(message.Type))
        {
            errors.Add(new(BusProtocol.Fields.Type, $"'{message.Type}' is not a message type"));
        }

        if (!Enum.IsDefined(message.Qos))
        {
            errors.Add(new(BusProtocol.Fields.Qos, $"'{message.Qos}' is not a quality of service"));
        }

        if (!BusProtocol.IsValidName(message.Topic))
        {
            errors.Add(new(BusProtocol.Fields.Topic, "must match ^[A-Za-z0-9._:-]{1,200}$"));
        }

        ValidateName(BusProtocol.Fields.From, from, required: true, errors);
        if (message.To is null)
        {
            errors.Add(new(BusProtocol.Fields.To, "must not be null"));
        }
        else
        {
            if (message.To.Count > EnvelopeLimits.MaxRecipients)
            {
                errors.Add(new(BusProtocol.Fields.To, $"has more than {EnvelopeLimits.MaxRecipients} recipients"));
            }

            for (var i = 0; i < message.To.Count; i++)
            {
                ValidateRecipient($"to[{i}]", message.To[i], errors);
            }
        }

        ValidateName(BusProtocol.Fields.CorrelationId, message.CorrelationId, required: false, errors);
        if (!string.IsNullOrEmpty(message.ReplyTo) && !BusProtocol.IsValidName(message.ReplyTo))
        {
            errors.Add(new(BusProtocol.Fields.ReplyTo, "must be empty or a topic matching ^[A-Za-z0-9._:-]{1,200}$"));
        }

        if (message.Meta is not null)
        {
            ValidateMeta(message.Meta, errors);
        }

        ValidatePayload(message.Payload.Span, limits, errors);
    }

    /// <summary>Builds the stream entry fields of a signed envelope.</summary>
    public static NameValueEntry[] ToFields(
        string id, long ts, OutgoingMessage message, string from, IReadOnlyDictionary<string, string> meta, string keyId, string signature) =>
    [
        new(BusProtocol.Fields.Version, BusProtocol.Version),
        new(BusProtocol.Fields.Id, id),
        new(BusProtocol.Fields.Timestamp, ts),
        new(BusProtocol.Fields.Type, message.Type.ToWireName()),
        new(BusProtocol.Fields.Qos, message.Qos.ToWireName()),
        new(BusProtocol.Fields.Topic, message.Topic),
        new(BusProtocol.Fields.From, from),
        new(BusProtocol.Fields.To, RecipientsJson(message.To)),
        new(BusProtocol.Fields.CorrelationId, message.CorrelationId ?? ""),
        new(BusProtocol.Fields.ReplyTo, message.ReplyTo ?? ""),
        new(BusProtocol.Fields.Meta, MetaJson(meta)),
        new(BusProtocol.Fields.Payload, message.Payload),
        new(BusProtocol.Fields.KeyId, keyId),
        new(BusProtocol.Fields.Signature, signature),
    ];

    /// <summary>The <c>to</c> field: a JSON string for one recipient, else a JSON array.</summary>
    public static byte[] RecipientsJson(IReadOnlyList<string> to)
    {
        var buffer = Buffer();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            if (to.Count == 1)
            {
                writer.WriteStringValue(to[0]);
            }
            else
            {
                writer.WriteStartArray();
                foreach (var r in to)
                {
                    writer.WriteStringValue(r);
                }

                writer.WriteEndArray();
            }
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The <c>meta</c> field: a JSON object of strings.</summary>
    public static byte[] MetaJson(IReadOnlyDictionary<string, string> meta)
    {
        if (meta.Count == 0)
        {
            return "{}"u8.ToArray();
        }

        var buffer = Buffer();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            foreach (var (key, value) in meta)
            {
                writer.WriteString(key, value);
            }

            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static ArrayBufferWriter<byte> Buffer()
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(256);
        buffer.ResetWrittenCount();
        return buffer;
    }

    // Every field must be well-formed UTF-8 (PROTOCOL §3). Checked on the raw bytes before anything is decoded: a
    // lenient decode would turn bad bytes into U+FFFD, so the signature would be checked over re-encoded bytes that
    // are not the ones on the wire, and a payload would be handed on altered. Only well-formed fields reach the
    // signature check, and for those decoding and re-encoding gives back exactly the bytes on the wire.
    private static void Set(ref string? field, RedisValue value, string name, List<EnvelopeError> errors)
    {
        if (field is not null)
        {
            errors.Add(new(name, "appears more than once"));
        }

        var bytes = (ReadOnlyMemory<byte>)value;
        if (!System.Text.Unicode.Utf8.IsValid(bytes.Span))
        {
            errors.Add(new(name, "is not well-formed UTF-8"));
            field = "";
            return;
        }

        field = (string?)value ?? "";
    }

    private static void SetBytes(ref ReadOnlyMemory<byte>? field, RedisValue value, string name, List<EnvelopeError> errors)
    {
        if (field is not null)
        {
            errors.Add(new(name, "appears more than once"));
        }

        var bytes = (ReadOnlyMemory<byte>)value;
        if (!System.Text.Unicode.Utf8.IsValid(bytes.Span))
        {
            errors.Add(new(name, "is not well-formed UTF-8"));
            field = ReadOnlyMemory<byte>.Empty;
            return;
        }

        field = bytes;
    }

    private static void ValidateId(string? id, List<EnvelopeError> errors)
    {
        if (string.IsNullOrEmpty(id))
        {
            errors.Add(new(BusProtocol.Fields.Id, "is missing"));
        }
        else if (id.Length != 36 || !Guid.TryParseExact(id, "D", out _))
        {
            errors.Add(new(BusProtocol.Fields.Id, $"'{Truncate(id)}' is not a UUID (8-4-4-4-12 hex digits)"));
        }
    }

    private static long ValidateTimestamp(string? ts, List<EnvelopeError> errors)
    {
        if (string.IsNullOrEmpty(ts))
        {
            errors.Add(new(BusProtocol.Fields.Timestamp, "is missing"));
            return 0;
        }

        // Canonical decimal only (no sign, no leading zeros), so the signed text is unambiguous.
        if ((ts.Length > 1 && ts[0] == '0') || !long.TryParse(ts, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value > EnvelopeLimits.MaxTimestamp)
        {
            errors.Add(new(BusProtocol.Fields.Timestamp, $"'{Truncate(ts)}' is not a non-negative unix time in milliseconds (decimal digits, no leading zeros)"));
            return 0;
        }

        return value;
    }

    private static void ValidateName(string field, string? value, bool required, List<EnvelopeError> errors)
    {
        if (string.IsNullOrEmpty(value))
        {
            if (required)
            {
                errors.Add(new(field, "must not be empty"));
            }

            return;
        }

        if (value.Length > EnvelopeLimits.MaxNameLength)
        {
            errors.Add(new(field, $"is longer than {EnvelopeLimits.MaxNameLength} characters"));
        }
        else if (value.AsSpan().ContainsAnyInRange('\0', '\u001f') || value.Contains('\u007f', StringComparison.Ordinal))
        {
            errors.Add(new(field, "must not contain control characters (CR, LF, ...)"));
        }
    }

    private static void ValidateRecipient(string field, string? value, List<EnvelopeError> errors)
    {
        ValidateName(field, value, required: true, errors);
        if (value is not null && value.Contains(',', StringComparison.Ordinal))
        {
            errors.Add(new(field, "must not contain ','"));
        }
    }

    private static string[]? ParseRecipients(ReadOnlySpan<byte> to, List<EnvelopeError> errors)
    {
        try
        {
            var reader = new Utf8JsonReader(to);
            if (!reader.Read())
            {
                errors.Add(new(BusProtocol.Fields.To, "is not JSON"));
                return null;
            }

            string[] result;
            if (reader.TokenType == JsonTokenType.String)
            {
                result = [reader.GetString()!];
                ValidateRecipient(BusProtocol.Fields.To, result[0], errors);
            }
            else if (reader.TokenType == JsonTokenType.StartArray)
            {
                var list = new List<string>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        errors.Add(new($"to[{list.Count}]", "must be a string"));
                        return null;
                    }

                    var r = reader.GetString()!;
                    ValidateRecipient($"to[{list.Count}]", r, errors);
                    list.Add(r);
                    if (list.Count > EnvelopeLimits.MaxRecipients)
                    {
                        errors.Add(new(BusProtocol.Fields.To, $"has more than {EnvelopeLimits.MaxRecipients} recipients"));
                        return null;
                    }
                }

                result = [.. list];
            }
            else
            {
                errors.Add(new(BusProtocol.Fields.To, "must be a JSON string or an array of strings"));
                return null;
            }

            if (reader.Read())
            {
                errors.Add(new(BusProtocol.Fields.To, "has trailing content after the JSON value"));
                return null;
            }

            return result;
        }
        catch (JsonException ex)
        {
            errors.Add(new(BusProtocol.Fields.To, "is not valid JSON: " + ex.Message));
            return null;
        }
    }

    private static Dictionary<string, string> ParseMeta(ReadOnlySpan<byte> meta, List<EnvelopeError> errors)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (meta.IsEmpty)
        {
            return result;
        }

        try
        {
            var reader = new Utf8JsonReader(meta);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                errors.Add(new(BusProtocol.Fields.Meta, "must be a JSON object of strings"));
                return result;
            }

            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                var key = reader.GetString()!;
                reader.Read();
                if (reader.TokenType != JsonTokenType.String)
                {
                    errors.Add(new("meta." + Truncate(key), "must be a string"));
                    return result;
                }

                if (!result.TryAdd(key, reader.GetString()!))
                {
                    errors.Add(new("meta." + Truncate(key), "appears more than once"));
                }
            }

            if (reader.Read())
            {
                errors.Add(new(BusProtocol.Fields.Meta, "has trailing content after the JSON object"));
            }
        }
        catch (JsonException ex)
        {
            errors.Add(new(BusProtocol.Fields.Meta, "is not valid JSON: " + ex.Message));
            return result;
        }

        ValidateMeta(result, errors);
        return result;
    }

    private static void ValidateMeta(IReadOnlyDictionary<string, string> meta, List<EnvelopeError> errors)
    {
        if (meta.Count > EnvelopeLimits.MaxMetaEntries)
        {
            errors.Add(new(BusProtocol.Fields.Meta, $"has more than {EnvelopeLimits.MaxMetaEntries} entries"));
            return;
        }

        foreach (var (key, value) in meta)
        {
            if (string.IsNullOrEmpty(key) || key.Length > EnvelopeLimits.MaxMetaKeyLength)
            {
                errors.Add(new("meta", $"keys must be 1 to {EnvelopeLimits.MaxMetaKeyLength} characters"));
            }
            else if (value is null)
            {
                errors.Add(new("meta." + key, "must be a string"));
            }
            else if (value.Length > EnvelopeLimits.MaxMetaValueLength)
            {
                errors.Add(new("meta." + key, $"is longer than {EnvelopeLimits.MaxMetaValueLength} characters"));
            }
        }
    }

    /// <summary>Checks that the payload is one well-formed JSON value within the size and depth limits.</summary>
    public static void ValidatePayload(ReadOnlySpan<byte> payload, EnvelopeLimits limits, List<EnvelopeError> errors)
    {
        if (payload.Length > limits.MaxPayloadBytes)
        {
            errors.Add(new(BusProtocol.Fields.Payload, $"is {payload.Length} bytes; the limit is {limits.MaxPayloadBytes}"));
            return;
        }

        if (payload.IsEmpty)
        {
            errors.Add(new(BusProtocol.Fields.Payload, "is empty; it must be a JSON value (e.g. null, {}, \"text\")"));
            return;
        }

        var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = limits.MaxPayloadDepth + 1 });
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && reader.CurrentDepth >= limits.MaxPayloadDepth)
                {
                    errors.Add(new(BusProtocol.Fields.Payload, $"is nested deeper than {limits.MaxPayloadDepth} levels"));
                    return;
                }
            }
        }
        catch (JsonException ex)
        {
            errors.Add(new(BusProtocol.Fields.Payload, "is not valid UTF-8 JSON: " + ex.Message));
        }
    }

    private static void ValidateSignatureSyntax(string sig, string? keyId, List<EnvelopeError> errors)
    {
        var count = 0;
        string? first = null;
        Span<byte> mac = stackalloc byte[33];
        foreach (var range in sig.AsSpan().Split(' '))
        {
            var part = sig.AsSpan(range);
            count++;
            var colon = part.IndexOf(':');
            if (colon <= 0 || !SigningKey.IsValidId(part[..colon]) ||
                !Convert.TryFromBase64Chars(part[(colon + 1)..], mac, out var written) || written != 32)
            {
                errors.Add(new(BusProtocol.Fields.Signature, $"entry {count} is not '<keyId>:<base64 of a 32-byte HMAC-SHA256>'"));
                return;
            }

            first ??= part[..colon].ToString();
        }

        if (count > EnvelopeLimits.MaxSignatures)
        {
            errors.Add(new(BusProtocol.Fields.Signature, $"has more than {EnvelopeLimits.MaxSignatures} entries"));
        }

        if (string.IsNullOrEmpty(keyId))
        {
            errors.Add(new(BusProtocol.Fields.KeyId, "is missing"));
        }
        else if (!string.Equals(keyId, first, StringComparison.Ordinal))
        {
            errors.Add(new(BusProtocol.Fields.KeyId, $"'{Truncate(keyId)}' is not the key id of the first signature ('{first}')"));
        }
    }

    private static string Truncate(string value) => value.Length <= 64 ? value : value[..64] + "…";
}
