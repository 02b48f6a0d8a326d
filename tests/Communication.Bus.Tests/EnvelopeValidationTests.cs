using System.Text;
using StackExchange.Redis;

namespace Communication.Bus.Tests;

public class EnvelopeValidationTests
{
    private static readonly EnvelopeLimits Limits = new(512 * 1024, 64);

    internal static Dictionary<string, string> ValidFields(string topic = "orders", string payload = """{"a":1}""")
    {
        var ring = new SigningKeyRing([new SigningKey("k1", TestBus.Secret1)]);
        var fields = new Dictionary<string, string>
        {
            ["v"] = "1",
            ["id"] = "0190a5c4-7d2e-7b3a-9f1e-2c4d6e8fa0b1",
            ["ts"] = "1735689600000",
            ["type"] = "TASK",
            ["qos"] = "at-least-once",
            ["topic"] = topic,
            ["from"] = "orchestration-api",
            ["to"] = """["researcher","critic"]""",
            ["correlationId"] = "run-1",
            ["replyTo"] = "reply.x",
            ["meta"] = """{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}""",
            ["payload"] = payload,
        };
        var canonical = CanonicalBytes.Build(fields["id"], 1735689600000, MessageType.Task, QualityOfService.AtLeastOnce, topic,
            fields["from"], ["researcher", "critic"], "run-1", "reply.x", Encoding.UTF8.GetBytes(payload));
        fields["keyId"] = "k1";
        fields["sig"] = SigningKeyRing.Sign(ring.Keys, canonical, []);
        return fields;
    }

    internal static NameValueEntry[] Entries(Dictionary<string, string> fields) =>
        [.. fields.Select(f => new NameValueEntry(f.Key, f.Value))];

    private static (Envelope? Envelope, List<EnvelopeError> Errors, bool Unsigned) Read(Dictionary<string, string> fields, EnvelopeLimits? limits = null)
    {
        var errors = new List<EnvelopeError>();
        var envelope = EnvelopeCodec.TryRead(Entries(fields), "orders", limits ?? Limits, errors, out var unsigned);
        return (envelope, errors, unsigned);
    }

    [Fact]
    public void A_valid_entry_parses_into_an_envelope()
    {
        var (envelope, errors, _) = Read(ValidFields());

        Assert.Empty(errors);
        Assert.NotNull(envelope);
        Assert.Equal(MessageType.Task, envelope.Type);
        Assert.Equal(QualityOfService.AtLeastOnce, envelope.Qos);
        Assert.Equal(["researcher", "critic"], envelope.To);
        Assert.Equal(1735689600000, envelope.Timestamp);
        Assert.Equal("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", envelope.Meta["traceparent"]);
        Assert.Equal("""{"a":1}""", Encoding.UTF8.GetString(envelope.Payload.Span));
    }

    [Theory]
    [InlineData("id", "not-a-uuid", "id", "not a UUID")]
    [InlineData("id", "0190a5c47d2e7b3a9f1e2c4d6e8fa0b1", "id", "not a UUID")]
    [InlineData("ts", "-1", "ts", "non-negative unix time")]
    [InlineData("ts", "017356896", "ts", "no leading zeros")]
    [InlineData("ts", "1.5", "ts", "non-negative unix time")]
    [InlineData("type", "task", "type", "is not one of TASK")]
    [InlineData("qos", "once", "qos", "is not one of at-most-once")]
    [InlineData("topic", "payments", "topic", "does not match the stream's topic")]
    [InlineData("from", "", "from", "must not be empty")]
    [InlineData("from", "evil\nTASK", "from", "control characters")]
    [InlineData("to", "42", "to", "a JSON string or an array of strings")]
    [InlineData("to", "[\"a\",7]", "to[1]", "must be a string")]
    [InlineData("to", "[\"a,b\"]", "to[0]", "must not contain ','")]
    [InlineData("to", "[\"a\"", "to", "not valid JSON")]
    [InlineData("correlationId", "run\r1", "correlationId", "control characters")]
    [InlineData("replyTo", "reply to", "replyTo", "must be empty or a topic")]
    [InlineData("meta", "{\"n\":1}", "meta.n", "must be a string")]
    [InlineData("meta", "[]", "meta", "JSON object of strings")]
    [InlineData("payload", "{\"a\":", "payload", "not valid UTF-8 JSON")]
    [InlineData("payload", "", "payload", "is empty")]
    [InlineData("payload", "{} {}", "payload", "not valid UTF-8 JSON")]
    [InlineData("v", "2", "v", "unsupported protocol version")]
    [InlineData("sig", "k1:abc", "sig", "base64 of a 32-byte")]
    [InlineData("keyId", "k2", "keyId", "not the key id of the first signature")]
    public void An_invalid_field_gives_a_field_level_error(string field, string value, string errorField, string message)
    {
        var fields = ValidFields();
        fields[field] = value;

        var (envelope, errors, unsigned) = Read(fields);

        Assert.Null(envelope);
        Assert.False(unsigned);
        Assert.Contains(errors, e => e.Field == errorField && e.Message.Contains(message, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("id")]
    [InlineData("ts")]
    [InlineData("type")]
    [InlineData("to")]
    [InlineData("payload")]
    [InlineData("v")]
    public void A_missing_required_field_is_named(string field)
    {
        var fields = ValidFields();
        fields.Remove(field);

        var (envelope, errors, _) = Read(fields);

        Assert.Null(envelope);
        Assert.Contains(errors, e => e.Field == field && e.Message == "is missing");
    }

    [Fact]
    public void A_duplicated_field_is_invalid()
    {
        var entries = Entries(ValidFields()).Append(new NameValueEntry("from", "someone-else")).ToArray();
        var errors = new List<EnvelopeError>();

        Assert.Null(EnvelopeCodec.TryRead(entries, "orders", Limits, errors, out _));
        Assert.Contains(errors, e => e.Field == "from" && e.Message == "appears more than once");
    }

    [Fact]
    public void An_entry_without_signature_is_unsigned_not_invalid()
    {
        var fields = ValidFields();
        fields.Remove("sig");
        fields.Remove("keyId");

        var (envelope, _, unsigned) = Read(fields);

        Assert.Null(envelope);
        Assert.True(unsigned);
    }

    [Fact]
    public void The_payload_size_limit_is_enforced()
    {
        var big = "\"" + new string('x', 600) + "\"";
        var (_, errors, _) = Read(ValidFields(payload: big), new EnvelopeLimits(512, 64));
        var (ok, okErrors, _) = Read(ValidFields(payload: big), new EnvelopeLimits(1024, 64));

        Assert.Contains(errors, e => e.Field == "payload" && e.Message.Contains("the limit is 512", StringComparison.Ordinal));
        Assert.Empty(okErrors);
        Assert.NotNull(ok);
    }

    [Fact]
    public void The_nesting_depth_limit_is_enforced()
    {
        static string Nested(int depth) => new string('[', depth) + new string(']', depth);

        var (_, atLimit, _) = Read(ValidFields(payload: Nested(64)));
        var (_, overLimit, _) = Read(ValidFields(payload: Nested(65)));

        Assert.Empty(atLimit);
        Assert.Contains(overLimit, e => e.Field == "payload" && e.Message.Contains("nested deeper than 64", StringComparison.Ordinal));
    }

    [Fact]
    public void A_single_recipient_string_and_a_one_element_array_sign_the_same()
    {
        var a = CanonicalBytes.Build("0190a5c4-7d2e-7b3a-9f1e-2c4d6e8fa0b1", 1, MessageType.Event, QualityOfService.AtMostOnce, "t", "f", ["x"], null, null, "1"u8);
        var fields = ValidFields();
        fields["to"] = "\"x\"";
        var (envelope, errors, _) = Read(fields);

        Assert.Empty(errors);
        Assert.Equal(["x"], envelope!.To);
        Assert.Equal("bus.v1\n0190a5c4-7d2e-7b3a-9f1e-2c4d6e8fa0b1\n1\nEVENT\nat-most-once\nt\nf\nx\n\n\n1", Encoding.UTF8.GetString(a));
    }
}
