using Bench;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using StackExchange.Redis;
using TestSupport;

namespace Communication.Bus.Benchmarks;

/// <summary>
/// End-to-end throughput on one local redis-server (started here): signed publish → verify/admit → handle → ack
/// through <see cref="RedisMessageBus"/>, against a raw baseline (XADD / XREADGROUP / XACK with the same payload,
/// batch size and pipelining). Raw and signed runs alternate; medians and their ratio are printed.
/// </summary>
internal static class LoadBenchmark
{
    private const int Window = 256; // outstanding publishes
    private const int Batch = 100;  // read batch (raw COUNT) = subscription concurrency

    public static async Task<int> RunAsync(string[] args)
    {
        var messages = Option(args, "--messages", 20_000);
        var runs = Option(args, "--runs", 5);
        var payload = Encoding.UTF8.GetBytes("{\"data\":\"" + new string('x', 1024 - 11) + "\"}");

        Children.Install();
        await using var redis = await RedisServer.StartAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString + ",allowAdmin=true");
        Console.WriteLine($"redis-server {connection.GetServer(connection.GetEndPoints()[0]).Version} on port {redis.Port}; {messages} messages of {payload.Length} B per run; {runs} runs; {Environment.ProcessorCount} cores");

        if (Environment.GetEnvironmentVariable("BENCH_PHASES") == "1")
        {
            await PhaseProbe.RunAsync(connection, payload, 2_000);
            await PhaseProbe.RunAsync(connection, payload, messages);
            return 0;
        }

        var raw = new List<double>();
        var signed = new List<double>();
        var rawCpu = new List<(double Client, double Redis)>();
        var signedCpu = new List<(double Client, double Redis)>();
        await RawAsync(connection, payload, 2_000);   // warm-up
        await SignedAsync(connection, payload, 2_000);
        for (var run = 1; run <= runs; run++)
        {
            var (r, rc) = await MeasureAsync(connection, messages, () => RawAsync(connection, payload, messages));
            var (s, sc) = await MeasureAsync(connection, messages, () => SignedAsync(connection, payload, messages));
            raw.Add(r);
            signed.Add(s);
            rawCpu.Add(rc);
            signedCpu.Add(sc);
            Console.WriteLine($"run {run}: raw {r:F0} msg/s ({rc.Client:F1} + {rc.Redis:F1} us CPU/msg client + redis), signed {s:F0} msg/s ({sc.Client:F1} + {sc.Redis:F1} us CPU/msg), ratio {s / r:F2}");
            await connection.GetDatabase().ExecuteAsync("FLUSHALL");
        }

        var rawMedian = Median(raw);
        var signedMedian = Median(signed);
        Console.WriteLine();
        Console.WriteLine("| path | median msg/s | runs (msg/s) |");
        Console.WriteLine("| --- | ---: | --- |");
        Console.WriteLine($"| raw XADD/XREADGROUP/XACK | {rawMedian:F0} | {string.Join(", ", raw.Select(x => x.ToString("F0", CultureInfo.InvariantCulture)))} |");
        Console.WriteLine($"| signed publish → handle → ack | {signedMedian:F0} | {string.Join(", ", signed.Select(x => x.ToString("F0", CultureInfo.InvariantCulture)))} |");
        Console.WriteLine($"| CPU per message, raw (client + redis-server) | {Median([.. rawCpu.Select(c => c.Client)]):F1} + {Median([.. rawCpu.Select(c => c.Redis)]):F1} µs | medians |");
        Console.WriteLine($"| CPU per message, signed (client + redis-server) | {Median([.. signedCpu.Select(c => c.Client)]):F1} + {Median([.. signedCpu.Select(c => c.Redis)]):F1} µs | medians |");
        var ratios = raw.Zip(signed, (r, s) => s / r).ToList();
        Console.WriteLine($"| ratio of the medians (signed / raw) | {signedMedian / rawMedian:F2} | goal ≥ 0.50 |");
        Console.WriteLine($"| median of the per-run ratios | {Median(ratios):F2} | {string.Join(", ", ratios.Select(x => x.ToString("F2", CultureInfo.InvariantCulture)))} |");
        return 0;
    }

    /// <summary>
    /// The baseline: the same 14-field entries (built once by the bus, then only the id changes: no signing, no
    /// validation), the same window of outstanding XADDs, XREADGROUP COUNT 100 and one XACK per read batch.
    /// </summary>
    private static async Task<double> RawAsync(ConnectionMultiplexer connection, byte[] payload, int count)
    {
        var db = connection.GetDatabase();
        var key = (RedisKey)$"raw:{{{Guid.NewGuid():N}}}";
        await db.StreamCreateConsumerGroupAsync(key, "g", "$", createStream: true);
        var template = Template(connection, payload);
        var acked = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();

        var consumer = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var entries = await db.StreamReadGroupAsync(key, "g", "c", StreamPosition.NewMessages, Batch);
                if (entries.Length == 0)
                {
                    await Task.Delay(1);
                    continue;
                }

                var ids = entries.Select(e => e.Id).ToArray();
                _ = db.StreamAcknowledgeAsync(key, "g", ids).ContinueWith(
                    _ => { if (Interlocked.Add(ref acked, ids.Length) == count) { done.TrySetResult(); } }, TaskScheduler.Default);
            }
        });

        var clock = Stopwatch.StartNew();
        using var window = new SemaphoreSlim(Window);
        for (var i = 0; i < count; i++)
        {
            await window.WaitAsync();
            var fields = (NameValueEntry[])template.Clone();
            fields[1] = new NameValueEntry("id", Guid.NewGuid().ToString());
            _ = db.StreamAddAsync(key, fields, maxLength: 100_000, useApproximateMaxLength: true).ContinueWith(_ => window.Release(), TaskScheduler.Default);
        }

        var published = clock.Elapsed;
        await done.Task.WaitAsync(TimeSpan.FromMinutes(5));
        var elapsed = clock.Elapsed;
        if (Environment.GetEnvironmentVariable("BENCH_VERBOSE") == "1")
        {
            Console.WriteLine($"  raw: published in {published.TotalMilliseconds:F0} ms, all acked in {elapsed.TotalMilliseconds:F0} ms");
        }

        await stop.CancelAsync();
        await consumer;
        return count / elapsed.TotalSeconds;
    }

    private static NameValueEntry[] Template(ConnectionMultiplexer connection, byte[] payload)
    {
        var settings = new CommunicationBusSettings { ServiceName = "bench", ConsumerName = "t" };
        settings.Signing.Keys.Add(new SigningKeySettings { Id = "k1", Secret = "bench-secret-0123456789abcdefghijklmnopqrstuv" });
        var bus = new RedisMessageBus(connection, settings);
        return bus.Prepare(new OutgoingMessage(MessageType.Task, "bench", payload) { To = ["worker"] }, Guid.NewGuid().ToString(),
            TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds(), TimeProvider.System.GetUtcNow(), null);
    }

    private static async Task<double> SignedAsync(ConnectionMultiplexer connection, byte[] payload, int count)
    {
        var settings = new CommunicationBusSettings { ServiceName = "bench", ConsumerName = "c" };
        settings.Signing.Keys.Add(new SigningKeySettings { Id = "k1", Secret = "bench-secret-0123456789abcdefghijklmnopqrstuv" });
        await using var bus = new RedisMessageBus(connection, settings);
        var topic = "bench." + Guid.NewGuid().ToString("N");
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

        var handled = 0;
        await using var subscription = await bus.SubscribeAsync(topic, (_, _) =>
        {
            Interlocked.Increment(ref handled);
            return Task.CompletedTask;
        }, settings.Subscription with { Concurrency = Batch, PollInterval = TimeSpan.FromMilliseconds(50) });

        var clock = Stopwatch.StartNew();
        using var window = new SemaphoreSlim(Window);
        for (var i = 0; i < count; i++)
        {
            await window.WaitAsync();
            _ = bus.PublishAsync(new OutgoingMessage(MessageType.Task, topic, payload) { To = ["worker"] }).ContinueWith(_ => window.Release(), TaskScheduler.Default);
        }

        var published = clock.Elapsed;
        await done.Task.WaitAsync(TimeSpan.FromMinutes(5));
        var elapsed = clock.Elapsed;
        if (Environment.GetEnvironmentVariable("BENCH_VERBOSE") == "1")
        {
            Console.WriteLine($"  signed: published in {published.TotalMilliseconds:F0} ms, all acked in {elapsed.TotalMilliseconds:F0} ms");
        }

        if (handled != count)
        {
            throw new InvalidOperationException($"handled {handled} of {count}");
        }

        return count / elapsed.TotalSeconds;
    }

    /// <summary>Runs one measurement and returns its rate and the CPU time per message of this process and of redis-server.</summary>
    private static async Task<(double Rate, (double Client, double Redis) Cpu)> MeasureAsync(ConnectionMultiplexer connection, int count, Func<Task<double>> run)
    {
        var server = connection.GetServer(connection.GetEndPoints()[0]);
        var redisBefore = await RedisCpuAsync(server);
        var clientBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var rate = await run();
        var client = Process.GetCurrentProcess().TotalProcessorTime - clientBefore;
        var redis = await RedisCpuAsync(server) - redisBefore;
        return (rate, (client.TotalMicroseconds / count, redis * 1_000_000 / count));
    }

    private static async Task<double> RedisCpuAsync(IServer server)
    {
        var info = (await server.InfoAsync("cpu")).SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value);
        return double.Parse(info["used_cpu_user"], CultureInfo.InvariantCulture) + double.Parse(info["used_cpu_sys"], CultureInfo.InvariantCulture);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
