using System.Collections.Concurrent;
using System.Globalization;
using TestSupport;

namespace Communication.Bus.Tests.Chaos;

/// <summary>
/// Chaos tier, bus side (docs/RELIABILITY.md): a large backlog on one consumer group while another group keeps up
/// and trimming runs every 50 ms. The lagging group then drains it: every message handled exactly once, none
/// dropped by trimming, and what both groups acknowledged is trimmed away. Size: <c>CHAOS_BACKLOG</c> messages
/// (CI: 20 000; the 200 000 locally: <c>CHAOS_BACKLOG=200000 ./scripts/test --filter "FullyQualifiedName~BacklogChaos"</c>).
/// Runs on its own redis-server so the backlog does not slow the other bus tests.
/// </summary>
public sealed class BacklogChaosTests : IAsyncLifetime
{
    private RedisFixture _redis = null!;

    private static int Backlog => int.TryParse(Environment.GetEnvironmentVariable("CHAOS_BACKLOG"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 20_000;

    public async ValueTask InitializeAsync()
    {
        _redis = new RedisFixture();
        await _redis.InitializeAsync();
    }

    public async ValueTask DisposeAsync() => await _redis.DisposeAsync();

    [Fact]
    public async Task A_backlog_on_one_group_with_trimming_active_is_drained_exactly_once_and_nothing_is_dropped()
    {
        var topic = TestTopics.New("backlog");
        var key = BusProtocol.StreamKey(topic);
        var settings = TestBus.Settings();
        settings.TrimInterval = TimeSpan.FromMilliseconds(50);
        await using var bus = await TestBus.CreateAsync(_redis, settings);
        using var dropped = bus.Counter(CommunicationBusTelemetry.DroppedCounter);
        using var trimmed = bus.Counter(CommunicationBusTelemetry.TrimmedCounter);

        // The lagging group exists (a consumer stopped), the other keeps up with every publish.
        await (await bus.Bus.SubscribeAsync(topic, (_, _) => Task.CompletedTask, new SubscriptionOptions { Group = "lagging" })).DisposeAsync();
        var live = new ConcurrentDictionary<string, int>();
        await using (var keepingUp = await bus.Bus.SubscribeAsync(topic, Count(live), new SubscriptionOptions { Group = "live", Concurrency = 16 }))
        {
            for (var start = 0; start < Backlog; start += 1_000)
            {
                await Task.WhenAll(Enumerable.Range(start, Math.Min(1_000, Backlog - start))
                    .Select(i => bus.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Event, topic, i))));
            }

            await Eventually.TrueAsync(() => live.Count == Backlog, TimeSpan.FromMinutes(5), $"the live group keeps up ({live.Count} of {Backlog})");
        }

        // Trimming ran meanwhile, but the lagging group has read nothing: every entry is still there.
        await bus.Bus.Maintenance.RunOnceAsync();
        Assert.Equal(Backlog, await _redis.Db.StreamLengthAsync(key));

        var lagging = new ConcurrentDictionary<string, int>();
        await using (var draining = await bus.Bus.SubscribeAsync(topic, Count(lagging), new SubscriptionOptions { Group = "lagging", Concurrency = 16 }))
        {
            await Eventually.TrueAsync(() => lagging.Count == Backlog, TimeSpan.FromMinutes(5), $"the lagging group drains the backlog ({lagging.Count} of {Backlog})");
            await Eventually.TrueAsync(async () => await _redis.Db.StreamLengthAsync(key) < Backlog / 10, TimeSpan.FromMinutes(1),
                "what both groups acknowledged is trimmed");
        }

        Assert.Empty(lagging.Where(m => m.Value != 1).Select(m => $"{m.Key}: handled {m.Value} times"));
        Assert.Empty(live.Where(m => m.Value != 1).Select(m => $"{m.Key}: handled {m.Value} times (live)"));
        Assert.Equal(live.Keys.Order(), lagging.Keys.Order());
        Assert.Empty(dropped.GetMeasurementSnapshot());
        Assert.True(trimmed.GetMeasurementSnapshot().Sum(m => m.Value) >= Backlog * 9 / 10);
        Assert.Equal(0, await bus.Bus.DeadLetters.CountAsync(topic));
    }

    private static Func<BusMessage, CancellationToken, Task> Count(ConcurrentDictionary<string, int> seen) => (message, _) =>
    {
        seen.AddOrUpdate(message.Id, 1, (_, n) => n + 1);
        return Task.CompletedTask;
    };
}
