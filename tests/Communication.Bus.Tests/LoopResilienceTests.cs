using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;
using TestSupport;

namespace Communication.Bus.Tests;

/// <summary>Issue 8: a consumer loop never dies for good.</summary>
[Trait("Category", "Cluster")]
public sealed class LoopResilienceTests(RedisFixture redis)
{
    [Fact]
    public async Task A_consumer_loop_whose_group_cannot_be_re_created_reports_degraded_then_recovers_and_keeps_handling()
    {
        var topic = TestTopics.New("nogroup");
        var key = BusProtocol.StreamKey(topic);
        var user = "loop-" + Guid.NewGuid().ToString("N")[..8];
        const string password = "loop-test-password-0123456789";
        await redis.Db.ExecuteAsync("ACL", "SETUSER", user, "on", ">" + password, "~*", "&*", "+@all");
        var options = ConfigurationOptions.Parse(redis.Server.ConnectionString);
        options.User = user;
        options.Password = password;
        await using var connection = await ConnectionMultiplexer.ConnectAsync(options);
        await using var bus = new RedisMessageBus(connection, TestBus.Settings());
        var recorder = new Recorder();
        await using var subscription = await bus.SubscribeAsync(topic, recorder.Handle);
        await bus.PublishAsync(OutgoingMessage.Create(MessageType.Event, topic, 1));
        await Eventually.TrueAsync(() => recorder.Count == 1);

        // The stream (and its group) disappears, and re-creating the group fails for a while.
        await redis.Db.ExecuteAsync("ACL", "SETUSER", user, "-xgroup|create");
        await redis.Db.KeyDeleteAsync(key);
        await redis.Db.StreamAddAsync(key, "n", 0);
        await Eventually.TrueAsync(async () => (await bus.CheckHealthAsync()).Status == HealthStatus.Degraded,
            because: "the loop is failing (NOGROUP, then NOPERM on XGROUP CREATE) and retrying");

        await redis.Db.ExecuteAsync("ACL", "SETUSER", user, "+xgroup|create");
        await Eventually.TrueAsync(async () => (await redis.Db.StreamGroupInfoAsync(key)).Length == 1);
        await bus.PublishAsync(OutgoingMessage.Create(MessageType.Event, topic, 2));
        await Eventually.TrueAsync(() => recorder.Count == 2);
        await Eventually.TrueAsync(async () => (await bus.CheckHealthAsync()).Status == HealthStatus.Healthy);
        await redis.Db.ExecuteAsync("ACL", "DELUSER", user);
    }
}
