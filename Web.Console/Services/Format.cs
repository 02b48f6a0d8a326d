using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;

namespace Web.Console.Services;

/// <summary>How the console writes times, durations, money and JSON.</summary>
internal static class Format
{
    private static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true,
        // Arabic and other scripts as themselves, not \u escapes (Razor still HTML-encodes the text).
        Encoder = JavaScriptEncoder.Create(UnicodeRanges.All),
    };

    public static string Time(DateTimeOffset? at) =>
        at is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " UTC" : "—";

    public static string Duration(DateTimeOffset? start, DateTimeOffset? end, DateTimeOffset now)
    {
        if (start is not { } s)
        {
            return "—";
        }

        var span = (end ?? now) - s;
        return span.TotalSeconds < 1 ? $"{span.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture)} ms"
            : span.TotalMinutes < 1 ? $"{span.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s"
            : $"{((int)span.TotalMinutes).ToString(CultureInfo.InvariantCulture)} min {span.Seconds.ToString(CultureInfo.InvariantCulture)} s";
    }

    public static string Usd(decimal amount) => "$" + amount.ToString(amount < 0.01m ? "0.000000" : "0.0000", CultureInfo.InvariantCulture);

    public static string Number(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Json(JsonElement element) => JsonSerializer.Serialize(element, Indented);

    public static string StatusClass(string? status) => "status-" + (status ?? "unknown").ToLowerInvariant().Replace('_', '-');
}
