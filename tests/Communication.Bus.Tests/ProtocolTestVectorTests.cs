using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using TestSupport;

namespace Communication.Bus.Tests;

/// <summary>The test vectors of docs/PROTOCOL.md, read from the document itself.</summary>
[Trait("Category", "Cluster")]
public partial class ProtocolTestVectorTests(RedisFixture redis)
{
    public sealed record Vectors(List<VectorKey> Keys, List<VectorCase> Cases, List<RejectCase> Rejects);

    /// <summary>
    /// An entry a consumer must dead-letter with <paramref name="Reason"/>: its fields as text (<paramref name="Fields"/>)
    /// or, when they are not well-formed UTF-8, as raw bytes (<paramref name="FieldsBase64"/>).
    /// </summary>
    public sealed record RejectCase(string Name, Dictionary<string, string>? Fields, Dictionary<string, string>? FieldsBase64, string Reason,
        string? InvalidField, string CanonicalBase64, string Sig)
    {
        public Dictionary<string, byte[]> RawFields() => FieldsBase64 is not null
            ? FieldsBase64.ToDictionary(f => f.Key, f => Convert.FromBase64String(f.Value))
            : Fields!.ToDictionary(f => f.Key, f => Encoding.UTF8.GetBytes(f.Value));
    }

    /// <summary>A vector key; <paramref name="Senders"/> binds it to the <c>from</c> names it may sign for (none: shared).</summary>
    public sealed record VectorKey(string Id, string Secret, List<string>? Senders = null)
    {
        public SigningKeySettings Settings() => new() { Id = Id, Secret = Secret, Senders = Senders is null ? null : string.Join(',', Senders) };
    }

    public sealed record VectorCase(string Name, Dictionary<string, string> Fields, List<string> SignedWith, string CanonicalBase64, string Sig);

    [GeneratedRegex(@"<!-- test-vectors:begin -->\s*```json\s*(.*?)```\s*<!-- test-vectors:end -->", RegexOptions.Singleline)]
    private static partial Regex VectorBlock();

    internal static Vectors Load()
    {
        var text = File.ReadAllText(Path.Combine(Repo.Root, "docs", "PROTOCOL.md"));
        var match = VectorBlock().Match(text);
        Assert.True(match.Success, "PROTOCOL.md has no test-vectors block");
        return JsonSerializer.Deserialize<Vectors>(match.Groups[1].Value, new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
    }

    private static (string Id, long Ts, MessageType Type, QualityOfService Qos, string[] To) Parse(Dictionary<string, string> f)
    {
        Assert.True(BusProtocol.TryParseMessageType(f["type"], out var type));
        Assert.True(BusProtocol.TryParseQualityOfService(f["qos"], out var qos));
        using var to = JsonDocument.Parse(f["to"]);
        string[] recipients = to.RootElement.ValueKind == JsonValueKind.String
            ? [to.RootElement.GetString()!]
            : [.. to.RootElement.EnumerateArray().Select(e => e.GetString()!)];
        return (f["id"], long.Parse(f["ts"], System.Globalization.CultureInfo.InvariantCulture), type, qos, recipients);
    }

    [Fact]
    public void The_document_has_vectors_for_one_key_two_keys_and_both_recipient_shapes()
    {
        var vectors = Load();

        Assert.True(vectors.Cases.Count >= 3);
        Assert.Contains(vectors.Cases, c => c.SignedWith.Count == 2);
        Assert.Contains(vectors.Cases, c => c.Fields["to"].StartsWith('"'));
        Assert.Contains(vectors.Cases, c => c.Fields["to"].StartsWith('['));
    }

    [Fact]
    public void The_document_has_reject_vectors_for_bad_utf8_and_for_a_key_bound_to_other_senders()
    {
        var vectors = Load();
        var bound = vectors.Keys.Where(k => k.Senders is { Count: > 0 }).Select(k => k.Id).ToHashSet();

        Assert.NotEmpty(bound);
        Assert.Contains(vectors.Rejects, r => r.Reason == RejectionReasons.Invalid && r.InvalidField == "payload");
        Assert.Contains(vectors.Rejects, r => r.Reason == RejectionReasons.SenderNotAllowed && bound.Contains(r.Sig.Split(':')[0]));
        Assert.Contains(vectors.Cases, c => c.SignedWith.All(bound.Contains));
    }

    [Fact]
    public void Canonical_bytes_and_signatures_match_the_vectors()
    {
        var vectors = Load();
        var keys = vectors.Keys.ToDictionary(k => k.Id, k => new SigningKey(k.Id, k.Secret));
        foreach (var c in vectors.Cases)
        {
            var (id, ts, type, qos, to) = Parse(c.Fields);
            var canonical = CanonicalBytes.Build(id, ts, type, qos, c.Fields["topic"], c.Fields["from"], to,
                c.Fields["correlationId"], c.Fields["replyTo"], Encoding.UTF8.GetBytes(c.Fields["payload"]));

            Assert.Equal(c.CanonicalBase64, Convert.ToBase64String(canonical));
            Assert.Equal(c.Sig, SigningKeyRing.Sign([.. c.SignedWith.Select(k => keys[k])], canonical, []));
            Assert.Equal(c.Sig, c.Fields["sig"]);
        }
    }

    [Fact]
    public async Task The_consumer_accepts_every_vector_as_a_stream_entry()
    {
        var vectors = Load();
        foreach (var c in vectors.Cases)
        {
            // A clock at the vector's time, a ring with the vector keys, a fresh group: the entry must be handled.
            var (_, ts, _, _, _) = Parse(c.Fields);
            var settings = TestBus.Settings("vectors", [.. vectors.Keys.Select(k => k.Settings())]);
            await using var consumer = await TestBus.CreateAsync(redis, settings, new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(ts)));
            var topic = c.Fields["topic"];
            var recorder = new Recorder();
            var group = TestTopics.New("g");
            await using (await consumer.Bus.SubscribeAsync(topic, recorder.Handle, settings.Subscription with { Group = group }))
            {
                await redis.Db.StreamAddAsync(BusProtocol.StreamKey(topic), [.. c.Fields.Select(f => new NameValueEntry(f.Key, f.Value))]);
                await Eventually.TrueAsync(() => recorder.Count == 1, because: c.Name);
            }

            var message = recorder.Messages[0];
            Assert.Equal(c.Fields["payload"], Encoding.UTF8.GetString(message.Payload.Span));
            Assert.Equal(c.SignedWith[0], message.KeyId);
            Assert.DoesNotContain(await consumer.Bus.DeadLetters.ListAsync(topic), d => d.Group == group);
        }
    }

    [Fact]
    public async Task The_consumer_dead_letters_every_reject_vector_and_never_handles_it()
    {
        var vectors = Load();
        var keys = vectors.Keys.ToDictionary(k => k.Id, k => new SigningKey(k.Id, k.Secret));
        foreach (var c in vectors.Rejects)
        {
            var fields = c.RawFields();

            // The signature is right over the raw bytes: the verdict is about UTF-8 or the key's senders, not about the signature.
            Assert.Equal(c.Sig, SigningKeyRing.Sign([keys[c.Sig.Split(':')[0]]], Convert.FromBase64String(c.CanonicalBase64), []));
            Assert.Equal(c.Sig, Encoding.ASCII.GetString(fields["sig"]));

            var ts = long.Parse(Encoding.ASCII.GetString(fields["ts"]), System.Globalization.CultureInfo.InvariantCulture);
            var settings = TestBus.Settings("vectors", [.. vectors.Keys.Select(k => k.Settings())]);
            await using var consumer = await TestBus.CreateAsync(redis, settings, new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(ts)));
            var topic = Encoding.ASCII.GetString(fields["topic"]);
            var recorder = new Recorder();
            var group = TestTopics.New("g");
            await using (await consumer.Bus.SubscribeAsync(topic, recorder.Handle, settings.Subscription with { Group = group }))
            {
                await redis.Db.StreamAddAsync(BusProtocol.StreamKey(topic), [.. fields.Select(f => new NameValueEntry(f.Key, f.Value))]);
                var letter = await Eventually.ValueAsync(
                    async () => (await consumer.Bus.DeadLetters.ListAsync(topic)).FirstOrDefault(d => d.Group == group),
                    d => d is not null, because: c.Name);
                Assert.Equal(c.Reason, letter!.Reason);
                if (c.Reason == RejectionReasons.Invalid)
                {
                    Assert.Contains(c.InvalidField!, letter.Detail, StringComparison.Ordinal);
                    Assert.Contains("UTF-8", letter.Detail, StringComparison.Ordinal);
                }
                else
                {
                    // sender-not-allowed names the claimed sender and the key that verified.
                    Assert.Contains(c.Fields!["from"], letter.Detail, StringComparison.Ordinal);
                    Assert.Contains(c.Fields["keyId"], letter.Detail, StringComparison.Ordinal);
                }
            }

            Assert.Equal(0, recorder.Count);
        }
    }
}
