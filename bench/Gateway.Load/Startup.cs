using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Bench;

/// <summary>
/// Start-up time (issue 15): from the process start to the first <c>/health/ready</c> 200 of each service, from its
/// Release build in the Production environment, on the benchmark's own Redis; the services alternate, and each start
/// is a new process (the OS file cache is warm after the first). Resolution: the launcher polls every 100 ms.
/// </summary>
internal static class StartupTime
{
    private static readonly string[] Services = ["Ai.Gateway", "Orchestration.Api"];

    public static async Task<int> RunAsync(Options options, Dictionary<string, string?> settings)
    {
        var runs = options.Int("--runs", 5);
        var seconds = Services.ToDictionary(s => s, _ => new List<double>());
        var idle = Services.ToDictionary(s => s, _ => new List<double>());
        for (var run = 1; run <= runs; run++)
        {
            foreach (var service in run % 2 == 1 ? Services : Services.Reverse())
            {
                var clock = Stopwatch.StartNew();
                await using var process = await ReleaseBuild.StartServiceAsync(service, settings);
                seconds[service].Add(clock.Elapsed.TotalSeconds);
                await using (var monitor = new ProcessMonitor(process.ProcessId, gcCounters: false))
                {
                    // The working set once the start-up work has settled (timers, first health checks).
                    await Task.Delay(TimeSpan.FromSeconds(5));
                    idle[service].Add(monitor.CurrentWorkingSetBytes() / (1024.0 * 1024.0));
                }

                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"run {run}: {service} ready in {seconds[service][^1]:F2} s, working set 5 s later {idle[service][^1]:F0} MB; load {Machine.LoadAverage():F2}"));
            }
        }

        var text = new StringBuilder();
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"Start-up, {runs} starts each (process start → /health/ready 200), load average {Machine.LoadAverages()}:");
        text.AppendLine();
        text.AppendLine("| service | median s | min s | max s | idle working set MB (median) |");
        text.AppendLine("|---|---:|---:|---:|---:|");
        foreach (var service in Services)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {service} | **{Stats.Median(seconds[service]):F2}** | {seconds[service].Min():F2} | {seconds[service].Max():F2} | {Stats.Median(idle[service]):F0} |");
        }

        Console.Write(text.ToString());
        return 0;
    }
}
