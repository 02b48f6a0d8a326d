using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Communication.Bus;

/// <summary>JSON renderings of envelopes and dead letters (for listings and debugging; not the wire format).</summary>
internal static class EnvelopeJson
{
    private static readonly JsonWriterOptions Options = new() { Indented = false, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Render(BusMessage message)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, Options))
        {
            w.WriteStartObject();
            w.WriteString("v", BusProtocol.Version);
            w.WriteString("id", message.Id);
            w.WriteNumber("ts", message.Timestamp.ToUnixTimeMilliseconds());
            w.WriteString("type", message.Type.ToWireName());
            w.WriteString("qos", message.Qos.ToWireName());
            w.WriteString("topic", message.Topic);
            w.WriteString("from", message.From);
            w.WriteStartArray("to");
            foreach (var r in message.To)
            {
                w.WriteStringValue(r);
            }

            w.WriteEndArray();
            w.WriteString("correlationId", message.CorrelationId ?? "");
            w.WriteString("replyTo", message.ReplyTo ?? "");
            w.WriteStartObject("meta");
            foreach (var (k, v) in message.Meta)
            {
                w.WriteString(k, v);
            }

            w.WriteEndObject();
            w.WritePropertyName("payload");
            w.WriteRawValue(message.Payload.Span, skipInputValidation: true);
            w.WriteString("keyId", message.KeyId);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    public static string Render(DeadLetter deadLetter)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, Options))
        {
            w.WriteStartObject();
            w.WriteString("entryId", deadLetter.EntryId);
            w.WriteString("topic", deadLetter.Topic);
            w.WriteString("reason", deadLetter.Reason);
            w.WriteString("detail", deadLetter.Detail);
            w.WriteString("group", deadLetter.Group);
            w.WriteString("consumer", deadLetter.Consumer);
            w.WriteString("originalEntryId", deadLetter.OriginalEntryId);
            w.WriteNumber("deliveryCount", deadLetter.DeliveryCount);
            w.WriteString("deadLetteredAt", deadLetter.DeadLetteredAt);
            w.WriteStartObject("envelope");
            foreach (var (name, value) in deadLetter.Fields)
            {
                w.WritePropertyName(name);
                if (name == BusProtocol.Fields.Timestamp && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var ts))
                {
                    w.WriteNumberValue(ts);
                }
                else if (name is BusProtocol.Fields.Payload or BusProtocol.Fields.To or BusProtocol.Fields.Meta && IsJson(value))
                {
                    w.WriteRawValue(value, skipInputValidation: true);
                }
                else
                {
                    w.WriteStringValue(value);
                }
            }

            w.WriteEndObject();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static bool IsJson(string value)
    {
        try
        {
            using var _ = JsonDocument.Parse(value);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
