using System.Globalization;
using System.Runtime.InteropServices;

namespace Bench;

internal static class Stats
{
    /// <summary>The nearest-rank percentile (0 &lt; <paramref name="p"/> ≤ 100) of sorted values.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p)
    {
        if (sorted.Count == 0)
        {
            return double.NaN;
        }

        var rank = (int)Math.Ceiling(p / 100 * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        if (sorted.Count == 0)
        {
            return double.NaN;
        }

        var middle = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    /// <summary>Latencies in milliseconds: p50, p90, p99, max.</summary>
    public static Percentiles Summarize(IEnumerable<double> milliseconds)
    {
        var sorted = milliseconds.Order().ToList();
        return new Percentiles(sorted.Count, Percentile(sorted, 50), Percentile(sorted, 90), Percentile(sorted, 99), sorted.Count > 0 ? sorted[^1] : double.NaN);
    }

    public static string Join(IEnumerable<double> values, string format) =>
        string.Join(", ", values.Select(v => v.ToString(format, CultureInfo.InvariantCulture)));
}

internal sealed record Percentiles(int Count, double P50, double P90, double P99, double Max)
{
    public static Percentiles MedianOf(IReadOnlyList<Percentiles> runs) => new(
        (int)Stats.Median(runs.Select(r => (double)r.Count)),
        Stats.Median(runs.Select(r => r.P50)),
        Stats.Median(runs.Select(r => r.P90)),
        Stats.Median(runs.Select(r => r.P99)),
        Stats.Median(runs.Select(r => r.Max)));

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"p50 {P50:F2} ms, p90 {P90:F2}, p99 {P99:F2}, max {Max:F2} (n={Count})");
}

/// <summary>What the machine was doing: cores, runtime, load average.</summary>
internal static class Machine
{
    /// <summary>The 1-minute load average from <c>/proc/loadavg</c> (NaN elsewhere).</summary>
    public static double LoadAverage()
    {
        try
        {
            return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return double.NaN;
        }
    }

    public static string LoadAverages()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ')[..3]);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "n/a";
        }
    }

    public static string Describe() =>
        $"{Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}, load average {LoadAverages()}, {TimeProvider.System.GetUtcNow():yyyy-MM-dd HH:mm} UTC";
}

/// <summary>Minimal <c>--name value</c> options.</summary>
internal sealed class Options(string[] args)
{
    public string? Value(string name)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
    }

    public int Int(string name, int fallback) => Value(name) is { } text ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;

    public double Double(string name, double fallback) => Value(name) is { } text ? double.Parse(text, CultureInfo.InvariantCulture) : fallback;

    public bool Has(string name) => Array.IndexOf(args, name) >= 0;

    /// <summary>Every <c>--service-env KEY=VALUE</c>: extra environment of the services (e.g. <c>DOTNET_gcServer=0</c>).</summary>
    public IEnumerable<KeyValuePair<string, string?>> ServiceEnvironment()
    {
        for (var i = 0; i + 1 < args.Length; i++)
        {
            if (args[i] == "--service-env" && args[i + 1].Split('=', 2) is [var key, var value])
            {
                yield return new KeyValuePair<string, string?>(key, value);
            }
        }
    }
}
