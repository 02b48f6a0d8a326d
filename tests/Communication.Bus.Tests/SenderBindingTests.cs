using Microsoft.Extensions.Configuration;
using TestSupport;

namespace Communication.Bus.Tests;

/// <summary>
/// Issue 9, per-agent signing identity: a key may sign only for the senders it is bound to
/// (<c>Bus:Signing:Keys:N:Senders</c>); an authentic message whose <c>from</c> its key may not claim is
/// dead-lettered <c>sender-not-allowed</c> and never reaches a handler.
/// </summary>
[Trait("Category", "Cluster")]
public class SenderBindingTests(RedisFixture redis)
{
    private const string SecretA = TestBus.Secret1;
    private const string SecretB = TestBus.Secret2;
    private const string ServiceSecret = "service-secret-0123456789abcdefghijklmnopq";

    /// <summary>The consumer's ring, bound from configuration the way a deployment sets it.</summary>
    private static CommunicationBusSettings Bound(string service, params (string Id, string Secret, string? Senders, string? State)[] keys)
    {
        var values = new Dictionary<string, string?>();
        for (var i = 0; i < keys.Length; i++)
        {
            values[$"Bus:Signing:Keys:{i}:Id"] = keys[i].Id;
            values[$"Bus:Signing:Keys:{i}:Secret"] = keys[i].Secret;
            values[$"Bus:Signing:Keys:{i}:State"] = keys[i].State ?? "active";
            if (keys[i].Senders is { } senders)
            {
                values[$"Bus:Signing:Keys:{i}:Senders"] = senders;
            }
        }

        var settings = TestBus.Settings(service);
        settings.Signing.Keys.Clear();
        new ConfigurationBuilder().AddInMemoryCollection(values).Build().GetSection("Bus").Bind(settings);
        return settings;
    }

    private static CommunicationBusSettings ConsumerRing() => Bound("orchestrator",
        ("orchestrator", ServiceSecret, "orchestrator", null),
        ("agent-a", SecretA, "agent-a", "verify-only"),
        ("team", SecretB, "team.*", "verify-only"));

    [Fact]
    public async Task A_message_signed_with_another_senders_key_is_dead_lettered_sender_not_allowed_and_counted()
    {
        var topic = TestTopics.New();
        await using var consumer = await TestBus.CreateAsync(redis, ConsumerRing());
        using var rejected = consumer.Counter(CommunicationBusTelemetry.RejectedCounter);
        // agent-a holds only its own key and claims to be agent-b (its own ring is not bound: the verifier's binding counts).
        await using var impostor = await TestBus.CreateAsync(redis, TestBus.Settings("agent-b", TestBus.Key("agent-a", SecretA)));
        await using var agentA = await TestBus.CreateAsync(redis, TestBus.Settings("agent-a", TestBus.Key("agent-a", SecretA)));
        await using var teamMember = await TestBus.CreateAsync(redis, TestBus.Settings("team.reviewer", TestBus.Key("team", SecretB)));
        await using var teamImpostor = await TestBus.CreateAsync(redis, TestBus.Settings("teams.reviewer", TestBus.Key("team", SecretB)));
        var recorder = new Recorder();
        await using var subscription = await consumer.Bus.SubscribeAsync(topic, recorder.Handle);

        var forged = await impostor.Bus.PublishAsync(OutgoingMessage.Create(MessageType.TaskResult, topic, new Work("forged", 1)));
        var outsidePrefix = await teamImpostor.Bus.PublishAsync(OutgoingMessage.Create(MessageType.TaskResult, topic, new Work("forged", 2)));
        await agentA.Bus.PublishAsync(OutgoingMessage.Create(MessageType.TaskResult, topic, new Work("a", 3)));
        await teamMember.Bus.PublishAsync(OutgoingMessage.Create(MessageType.TaskResult, topic, new Work("team", 4)));

        await Eventually.TrueAsync(async () => recorder.Count + await consumer.Bus.DeadLetters.CountAsync(topic) == 4);
        var letters = await consumer.Bus.DeadLetters.ListAsync(topic);

        Assert.Equal(["a", "team"], recorder.Messages.Select(m => m.GetPayload<Work>()!.Name).Order());
        Assert.Equal([forged.EntryId, outsidePrefix.EntryId], letters.Select(l => l.OriginalEntryId).Order(StringComparer.Ordinal));
        Assert.All(letters, l => Assert.Equal("sender-not-allowed", l.Reason));
        var impostorLetter = letters.Single(l => l.OriginalEntryId == forged.EntryId);
        Assert.Contains("'agent-b'", impostorLetter.Detail, StringComparison.Ordinal);
        Assert.Contains("agent-a", impostorLetter.Detail, StringComparison.Ordinal);
        Assert.Equal(2, rejected.GetMeasurementSnapshot().Where(m => (string?)m.Tags["bus.reason"] == "sender-not-allowed").Sum(m => m.Value));
    }

    [Fact]
    public async Task A_key_without_senders_is_shared_and_may_sign_for_anyone()
    {
        var topic = TestTopics.New();
        await using var consumer = await TestBus.CreateAsync(redis, Bound("consumer", ("shared", SecretA, null, null)));
        await using var publisher = await TestBus.CreateAsync(redis, TestBus.Settings("whoever", TestBus.Key("shared", SecretA)));
        var recorder = new Recorder();
        await using var subscription = await consumer.Bus.SubscribeAsync(topic, recorder.Handle);

        await publisher.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Event, topic, new Work("w", 1)));

        await Eventually.TrueAsync(() => recorder.Count == 1);
        Assert.Equal("whoever", recorder.Messages[0].From);
    }

    [Fact]
    public async Task A_service_signs_only_with_the_keys_bound_to_its_name()
    {
        var topic = TestTopics.New();
        // The orchestrator holds the agents' keys to verify them; they are active only for their own senders.
        await using var orchestrator = await TestBus.CreateAsync(redis, Bound("orchestrator",
            ("agent-a", SecretA, "agent-a", null), ("orchestrator", ServiceSecret, "orchestrator", null), ("team", SecretB, "team.*", null)));

        var receipt = await orchestrator.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Task, topic, new Work("w", 1)));

        var entry = (await redis.Db.StreamRangeAsync(BusProtocol.StreamKey(topic), receipt.EntryId, receipt.EntryId))[0];
        Assert.Equal("orchestrator", (string?)entry.Values.Single(v => v.Name == "keyId").Value);
        Assert.Equal(["orchestrator"], ((string)entry.Values.Single(v => v.Name == "sig").Value!).Split(' ').Select(s => s.Split(':')[0]));
    }

    [Fact]
    public async Task An_entry_signed_by_a_foreign_key_and_its_own_key_is_accepted()
    {
        var topic = TestTopics.New();
        await using var consumer = await TestBus.CreateAsync(redis, ConsumerRing());
        // A publisher with a shared ring signs with both keys; one of them is bound to its name.
        await using var publisher = await TestBus.CreateAsync(redis, TestBus.Settings("agent-a", TestBus.Key("team", SecretB), TestBus.Key("agent-a", SecretA)));
        var recorder = new Recorder();
        await using var subscription = await consumer.Bus.SubscribeAsync(topic, recorder.Handle);

        await publisher.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Event, topic, new Work("w", 1)));

        await Eventually.TrueAsync(() => recorder.Count == 1);
        Assert.Equal(0, await consumer.Bus.DeadLetters.CountAsync(topic));
    }

    [Fact]
    public void Sender_patterns_and_a_ring_without_a_key_for_the_service_are_refused_at_start_up_naming_the_key()
    {
        var settings = Bound("orchestrator", ("agent-a", SecretA, "agent-a, team.*x, a b", null), ("old", SecretB, "orchestrator", "verify-only"));

        var result = new CommunicationBusSettingsValidator().Validate(null, settings);

        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.Contains("Bus:Signing:Keys:0:Senders", StringComparison.Ordinal) && f.Contains("'team.*x'", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("'a b'", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("no active key that may sign for this service's name 'orchestrator'", StringComparison.Ordinal));
        Assert.True(new CommunicationBusSettingsValidator().Validate(null, Bound("team.x", ("team", SecretB, "team.*", null))).Succeeded);
        Assert.True(new CommunicationBusSettingsValidator().Validate(null, Bound("anyone", ("all", SecretB, "*", null))).Succeeded);
    }

    [Theory]
    [InlineData("agent-a", "agent-a", true)]
    [InlineData("agent-a", "agent-ab", false)]
    [InlineData("team.*", "team.x", true)]
    [InlineData("team.*", "team.", true)]
    [InlineData("team.*", "team", false)]
    [InlineData("*", "anything", true)]
    [InlineData("", "anything", true)]
    [InlineData("a,b", "b", true)]
    public void A_key_allows_the_senders_it_is_bound_to(string senders, string from, bool allowed)
    {
        var key = new SigningKey("k", SecretA, senders: senders.Split(',', StringSplitOptions.RemoveEmptyEntries));

        Assert.Equal(allowed, key.AllowsSender(from));
        Assert.Equal(senders is "" or "*", key.IsShared);
    }
}
