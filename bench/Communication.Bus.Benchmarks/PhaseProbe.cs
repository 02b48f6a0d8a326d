using System.Diagnostics;
using System.Diagnostics.Metrics;
using StackExchange.Redis;

namespace Communication.Bus.Benchmarks;

/// <summary>Diagnostics: publish-only and consume-only timings of the signed path (BENCH_PHASES=1).</summary>
internal static class PhaseProbe
{
    public static async Task RunAsync(ConnectionMultiplexer connection, byte[] payload, int count)
    {
        var settings = new CommunicationBusSettings { ServiceName = "probe", ConsumerName = "c" };
        settings.Signing.Keys.Add(new SigningKeySettings { Id = "k1", Secret = "bench-secret-0123456789abcdefghijklmnopqrstuv" });
        await using var bus = new RedisMessageBus(connection, settings);
        var topic = "probe." + Guid.NewGuid().ToString("N");
        await connection.GetDatabase().StreamCreateConsumerGroupAsync(BusProtocol.StreamKey(topic), "probe", "$", true);

        var message = new OutgoingMessage(MessageType.Task, topic, payload) { To = ["worker"] };
        var sw = Stopwatch.StartNew();
        NameValueEntry[] fields = [];
        for (var i = 0; i < count; i++)
        {
            fields = bus.Prepare(message, Guid.NewGuid().ToString(), 1735689600000, TimeProvider.System.GetUtcNow(), null);
        }

        Console.WriteLine($"  probe: prepare (validate+sign+fields) {sw.Elapsed.TotalMicroseconds / count:F2} us/msg");
        var db = connection.GetDatabase();
        sw.Restart();
        using (var window = new SemaphoreSlim(256))
        {
            var tasks = new List<Task>(count);
            for (var i = 0; i < count; i++)
            {
                await window.WaitAsync();
                tasks.Add(db.StreamAddAsync("probe:{x}", fields, maxLength: 100_000, useApproximateMaxLength: true).ContinueWith(_ => window.Release(), TaskScheduler.Default));
            }

            await Task.WhenAll(tasks);
        }

        Console.WriteLine($"  probe: XADD of the 14 prepared fields {count / sw.Elapsed.TotalSeconds:F0} msg/s");
        var clock = Stopwatch.StartNew();
        using (var window = new SemaphoreSlim(256))
        {
            var tasks = new List<Task>(count);
            for (var i = 0; i < count; i++)
            {
                await window.WaitAsync();
                tasks.Add(bus.PublishAsync(new OutgoingMessage(MessageType.Task, topic, payload) { To = ["worker"] }).ContinueWith(_ => window.Release(), TaskScheduler.Default));
            }

            await Task.WhenAll(tasks);
        }

        var publish = clock.Elapsed;
        var acked = 0L;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == CommunicationBusTelemetry.MeterName && instrument.Name == CommunicationBusTelemetry.AckedCounter)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) =>
        {
            if (Interlocked.Add(ref acked, value) == count)
            {
                done.TrySetResult();
            }
        });
        listener.Start();
        clock.Restart();
        await using (await bus.SubscribeAsync(topic, (_, _) => Task.CompletedTask, settings.Subscription with { Concurrency = 100 }))
        {
            await done.Task.WaitAsync(TimeSpan.FromMinutes(5));
        }

        var server = connection.GetServer(connection.GetEndPoints()[0]);
        foreach (var group in await server.InfoAsync("commandstats"))
        {
            foreach (var (key, value) in group)
            {
                Console.WriteLine($"  {key}: {value}");
            }
        }

        await server.ExecuteAsync("CONFIG", "RESETSTAT");
        Console.WriteLine($"  probe: publish-only {count / publish.TotalSeconds:F0} msg/s, consume-only {count / clock.Elapsed.TotalSeconds:F0} msg/s");
    }
}
