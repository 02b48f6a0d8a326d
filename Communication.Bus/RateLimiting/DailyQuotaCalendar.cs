using System.Collections.Concurrent;

namespace Communication.Bus.RateLimiting;

/// <summary>
/// Three consecutive daily windows of a time zone, as Unix milliseconds: the day before, the
/// current day <c>[Start, End)</c> and the next day <c>[End, NextEnd)</c>.
/// </summary>
internal readonly record struct DailyWindows(long PreviousStart, long Start, long End, long NextEnd);

/// <summary>
/// Computes the daily quota windows in .NET, where the time-zone rules live; the script only
/// picks, with its own clock, which of the three windows it is in. That keeps the script free of
/// calendar logic and correct across daylight-saving changes (23- and 25-hour days) and across
/// a caller clock that is off by less than a day.
/// </summary>
internal sealed class DailyQuotaCalendar
{
    private readonly ConcurrentDictionary<string, TimeZoneInfo> _zones = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DailyWindows> _windows = new(StringComparer.Ordinal);

    /// <summary>The windows around <paramref name="nowMs"/> in <paramref name="timeZoneId"/>, cached until the day ends.</summary>
    public DailyWindows WindowsAt(string timeZoneId, long nowMs)
    {
        if (_windows.TryGetValue(timeZoneId, out var cached) && nowMs >= cached.Start && nowMs < cached.End)
        {
            return cached;
        }

        var windows = Compute(DateTimeOffset.FromUnixTimeMilliseconds(nowMs), Resolve(timeZoneId));
        _windows[timeZoneId] = windows;
        return windows;
    }

    /// <summary>Finds a time zone by IANA or Windows identifier (<c>UTC</c> is always known).</summary>
    /// <exception cref="ArgumentException">The identifier names no time zone on this machine.</exception>
    public TimeZoneInfo Resolve(string timeZoneId) => _zones.GetOrAdd(timeZoneId, static id =>
    {
        if (string.Equals(id, TokenBucketRule.UtcTimeZone, StringComparison.OrdinalIgnoreCase) ||
            string.Equals(id, "Etc/UTC", StringComparison.OrdinalIgnoreCase))
        {
            return TimeZoneInfo.Utc;
        }

        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            throw new ArgumentException($"Unknown daily quota time zone '{id}'.", nameof(TokenBucketRule.DailyQuotaTimeZone), ex);
        }
    });

    /// <summary>The windows of the local calendar day containing <paramref name="now"/> and its neighbours.</summary>
    public static DailyWindows Compute(DateTimeOffset now, TimeZoneInfo zone)
    {
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, zone).DateTime);
        return new DailyWindows(
            StartOfDay(today.AddDays(-1), zone).ToUnixTimeMilliseconds(),
            StartOfDay(today, zone).ToUnixTimeMilliseconds(),
            StartOfDay(today.AddDays(1), zone).ToUnixTimeMilliseconds(),
            StartOfDay(today.AddDays(2), zone).ToUnixTimeMilliseconds());
    }

    /// <summary>
    /// The first instant of the local date <paramref name="date"/> in <paramref name="zone"/>.
    /// Usually local midnight; when midnight is skipped by a daylight-saving jump (e.g.
    /// America/Santiago) the day starts at the jump; when midnight happens twice, at the first one.
    /// </summary>
    public static DateTimeOffset StartOfDay(DateOnly date, TimeZoneInfo zone)
    {
        var midnight = date.ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified);
        TimeSpan offset;
        if (zone.IsInvalidTime(midnight))
        {
            // Midnight falls in a spring-forward gap: the day starts at the transition, which is
            // "midnight" read with the offset in force just before the gap.
            offset = zone.GetUtcOffset(midnight.AddHours(-6));
        }
        else if (zone.IsAmbiguousTime(midnight))
        {
            // Midnight happens twice: the first occurrence has the larger offset.
            offset = zone.GetAmbiguousTimeOffsets(midnight).Max();
        }
        else
        {
            offset = zone.GetUtcOffset(midnight);
        }

        return new DateTimeOffset(midnight, offset).ToUniversalTime();
    }
}
