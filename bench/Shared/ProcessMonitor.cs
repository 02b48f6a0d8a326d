using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Globalization;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;

namespace Bench;

/// <summary>What a <see cref="ProcessMonitor"/> saw since its last <see cref="ProcessMonitor.Reset"/>.</summary>
internal sealed record ProcessSample(long PeakWorkingSetBytes, double PeakGcHeapMb, double PeakGcCommittedMb, TimeSpan CpuTime);

/// <summary>
/// Watches another process's memory and CPU without dotnet-counters: the working set from
/// <c>/proc/&lt;pid&gt;/status</c> (<c>VmRSS</c> sampled every 50 ms, and the kernel's own peak <c>VmHWM</c>,
/// reset through <c>/proc/&lt;pid&gt;/clear_refs</c>), CPU time from <c>/proc/&lt;pid&gt;/stat</c>, and the GC heap
/// from the runtime's <c>System.Runtime</c> event counters (<c>gc-heap-size</c>, <c>gc-committed</c>, once a
/// second) over an EventPipe session, i.e. the diagnostics IPC channel dotnet-counters itself uses.
/// </summary>
internal sealed class ProcessMonitor : IAsyncDisposable
{
    private readonly int _pid;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampler;
    private readonly EventPipeSession? _session;
    private readonly Task? _counters;
    private long _peakRss;
    private double _peakGcHeap;
    private double _peakGcCommitted;
    private TimeSpan _cpuAtReset;

    /// <param name="pid">The process.</param>
    /// <param name="gcCounters">Whether it is a .NET process whose GC heap to watch.</param>
    public ProcessMonitor(int pid, bool gcCounters = true)
    {
        _pid = pid;
        _cpuAtReset = CpuTime();
        _sampler = Task.Run(SampleAsync);
        if (!gcCounters)
        {
            return;
        }

        try
        {
            var provider = new EventPipeProvider("System.Runtime", EventLevel.Informational, 0,
                new Dictionary<string, string> { ["EventCounterIntervalSec"] = "1" });
            _session = new DiagnosticsClient(pid).StartEventPipeSession([provider], requestRundown: false, circularBufferMB: 16);
            var source = new EventPipeEventSource(_session.EventStream);
            source.Dynamic.All += OnEvent;
            // A thread of its own: Process() blocks for the whole session, and a blocked thread-pool thread on a
            // 2-core machine (2 threads at first) stalls the benchmark's own async work until the pool grows.
            _counters = Task.Factory.StartNew(() =>
            {
                try
                {
                    source.Process();
                }
                catch (Exception ex) when (ex is IOException or ObjectDisposedException or EndOfStreamException)
                {
                    // The session ended with the process.
                }
                finally
                {
                    source.Dispose();
                }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
        catch (Exception ex) when (ex is ServerNotAvailableException or UnsupportedCommandException or IOException or TimeoutException)
        {
            Console.Error.WriteLine($"warning: no GC heap counters for pid {pid}: {ex.Message}");
        }
    }

    /// <summary>Starts a new measurement window: peaks from now on, CPU from now on.</summary>
    public void Reset()
    {
        try
        {
            // "5" resets the peak resident set size (VmHWM) to the current one.
            File.WriteAllText($"/proc/{_pid}/clear_refs", "5");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }

        Interlocked.Exchange(ref _peakRss, ReadRss() ?? 0);
        lock (_stop)
        {
            _peakGcHeap = 0;
            _peakGcCommitted = 0;
        }

        _cpuAtReset = CpuTime();
    }

    /// <summary>The resident set size right now (<c>VmRSS</c>), 0 when the process is gone.</summary>
    public long CurrentWorkingSetBytes() => ReadRss() ?? 0;

    public ProcessSample Read()
    {
        var peak = Math.Max(Interlocked.Read(ref _peakRss), ReadStatus("VmHWM:") ?? 0);
        lock (_stop)
        {
            return new ProcessSample(peak, _peakGcHeap, _peakGcCommitted, CpuTime() - _cpuAtReset);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _sampler;
        if (_session is not null)
        {
            try
            {
                await _session.StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
            }
            catch (Exception ex) when (ex is ServerNotAvailableException or IOException or TimeoutException or ObjectDisposedException)
            {
            }

            _session.Dispose();
        }

        if (_counters is not null)
        {
            await _counters.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        _stop.Dispose();
    }

    private async Task SampleAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            if (ReadRss() is { } rss)
            {
                long seen;
                while (rss > (seen = Interlocked.Read(ref _peakRss)) && Interlocked.CompareExchange(ref _peakRss, rss, seen) != seen)
                {
                }
            }

            try
            {
                await Task.Delay(50, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void OnEvent(TraceEvent e)
    {
        if (e.EventName != "EventCounters" || e.PayloadValue(0) is not IDictionary<string, object> outer
            || outer.TryGetValue("Payload", out var inner) is false || inner is not IDictionary<string, object> payload
            || payload.TryGetValue("Name", out var name) is false)
        {
            return;
        }

        // Polling counters report Mean (here in MB); there is one sample per interval.
        var value = payload.TryGetValue("Mean", out var mean) ? Convert.ToDouble(mean, CultureInfo.InvariantCulture) : 0;
        lock (_stop)
        {
            switch (name as string)
            {
                case "gc-heap-size":
                    _peakGcHeap = Math.Max(_peakGcHeap, value);
                    break;
                case "gc-committed":
                    _peakGcCommitted = Math.Max(_peakGcCommitted, value);
                    break;
            }
        }
    }

    private long? ReadRss() => ReadStatus("VmRSS:");

    private long? ReadStatus(string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{_pid}/status"))
            {
                if (line.StartsWith(field, StringComparison.Ordinal))
                {
                    var kb = line[field.Length..].Trim().Split(' ')[0];
                    return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
        }

        return null;
    }

    private TimeSpan CpuTime()
    {
        try
        {
            using var process = Process.GetProcessById(_pid);
            return process.TotalProcessorTime;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            return TimeSpan.Zero;
        }
    }
}
