using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;

namespace Bench;

/// <summary>The outcome of one fixed-rate pass; <c>AchievedRps</c> = requests ÷ time until the last answer.</summary>
internal sealed record OpenLoopResult(Percentiles Latency, Percentiles SendLateness, int Errors, double AchievedRps);

/// <summary>The outcome of one closed-loop pass.</summary>
internal sealed record ClosedLoopResult(double RequestsPerSecond, long Requests, int Errors, TimeSpan Elapsed, Percentiles Latency);

internal static partial class Load
{
    /// <summary>An HTTP/1.1 client without proxy, with a connection pool large enough for the load.</summary>
    public static HttpClient Client(Uri baseAddress) => new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        MaxConnectionsPerServer = 1024,
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
    })
    {
        BaseAddress = baseAddress,
        Timeout = TimeSpan.FromSeconds(30),
    };

    /// <summary>
    /// Open loop at a fixed rate: request <c>i</c> is due at <c>start + i / rps</c> and is sent then, whatever
    /// happened to earlier requests (a dedicated thread sleeps until each due time). Latency is measured from
    /// the due time, not from the actual send, so a stall of the client, the machine or the server shows up
    /// in the numbers instead of silently thinning the load (no coordinated omission).
    /// </summary>
    public static async Task<OpenLoopResult> OpenLoopAsync(Func<HttpRequestMessage> request, HttpClient client, int rps, TimeSpan duration)
    {
        var count = (int)(rps * duration.TotalSeconds);
        var latency = new double[count];
        var lateness = new double[count];
        var sends = new Task[count];
        var errors = 0;
        var interval = (double)Stopwatch.Frequency / rps;
        var start = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 100;
        var firstError = (string?)null;

        async Task SendAsync(int index, long due)
        {
            try
            {
                using var message = request();
                using var response = await client.SendAsync(message, HttpCompletionOption.ResponseContentRead);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    Interlocked.CompareExchange(ref firstError, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}", null);
                    Interlocked.Increment(ref errors);
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
            {
                Interlocked.CompareExchange(ref firstError, ex.Message, null);
                Interlocked.Increment(ref errors);
            }

            latency[index] = Stopwatch.GetElapsedTime(due).TotalMilliseconds;
        }

        var scheduled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var scheduler = new Thread(() =>
        {
            for (var i = 0; i < count; i++)
            {
                var due = start + (long)(i * interval);
                SleepUntil(due);
                lateness[i] = Stopwatch.GetElapsedTime(due).TotalMilliseconds;
                sends[i] = SendAsync(i, due);
            }

            scheduled.SetResult();
        })
        { IsBackground = true, Name = "open-loop scheduler" };
        var clock = Stopwatch.StartNew();
        scheduler.Start();
        await scheduled.Task;
        await Task.WhenAll(sends);
        clock.Stop();
        if (errors > 0)
        {
            Console.Error.WriteLine($"  {errors} of {count} requests failed; first: {firstError}");
        }

        return new OpenLoopResult(Stats.Summarize(latency), Stats.Summarize(lateness), errors, count / clock.Elapsed.TotalSeconds);
    }

    /// <summary><paramref name="concurrency"/> workers each send the next request as soon as the previous one is answered.</summary>
    public static async Task<ClosedLoopResult> ClosedLoopAsync(Func<HttpRequestMessage> request, HttpClient client, int concurrency, TimeSpan duration)
    {
        long completed = 0;
        var errors = 0;
        var firstError = (string?)null;
        var clock = Stopwatch.StartNew();
        var latencies = new List<double>[concurrency];
        var workers = Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
        {
            long mine = 0;
            var own = latencies[worker] = [];
            while (clock.Elapsed < duration)
            {
                var sent = Stopwatch.GetTimestamp();
                try
                {
                    using var message = request();
                    using var response = await client.SendAsync(message, HttpCompletionOption.ResponseContentRead);
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        Interlocked.CompareExchange(ref firstError, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}", null);
                        Interlocked.Increment(ref errors);
                        continue;
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
                {
                    Interlocked.CompareExchange(ref firstError, ex.Message, null);
                    Interlocked.Increment(ref errors);
                    continue;
                }

                own.Add(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
                mine++;
            }

            Interlocked.Add(ref completed, mine);
        })).ToList();
        await Task.WhenAll(workers);
        clock.Stop();
        if (errors > 0)
        {
            Console.Error.WriteLine($"  {errors} requests failed; first: {firstError}");
        }

        return new ClosedLoopResult(completed / clock.Elapsed.TotalSeconds, completed, errors, clock.Elapsed, Stats.Summarize(latencies.SelectMany(l => l)));
    }

    /// <summary>
    /// Sleeps until <paramref name="due"/> (a <see cref="Stopwatch"/> timestamp): the kernel's nanosleep to about
    /// 0.2 ms before (Thread.Sleep only has millisecond steps), then a short spin. Never early.
    /// </summary>
    private static void SleepUntil(long due)
    {
        const long SpinNs = 200_000;
        var remainingNs = (due - Stopwatch.GetTimestamp()) * 1_000_000_000 / Stopwatch.Frequency;
        if (remainingNs > SpinNs)
        {
            if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
            {
                var sleep = remainingNs - SpinNs;
                var request = new TimeSpec { Seconds = sleep / 1_000_000_000, Nanoseconds = sleep % 1_000_000_000 };
                _ = NanoSleep(in request, IntPtr.Zero);
            }
            else
            {
                Thread.Sleep((int)((remainingNs - SpinNs) / 1_000_000));
            }
        }

        var spinner = default(SpinWait);
        while (Stopwatch.GetTimestamp() < due)
        {
            spinner.SpinOnce(sleep1Threshold: -1);
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "nanosleep")]
    private static partial int NanoSleep(in TimeSpec request, IntPtr remaining);
}
