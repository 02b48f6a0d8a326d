using Communication.Bus.RateLimiting;

namespace Communication.Bus.Tests.RateLimiting;

/// <summary>The daily windows computed in .NET (no Redis).</summary>
public sealed class DailyQuotaCalendarTests
{
    [Theory]
    [InlineData("America/Los_Angeles", 2025, 3, 9, 23)]
    [InlineData("America/Los_Angeles", 2025, 11, 2, 25)]
    [InlineData("America/Los_Angeles", 2025, 7, 1, 24)]
    [InlineData("Europe/Berlin", 2025, 3, 30, 23)]
    [InlineData("UTC", 2025, 3, 9, 24)]
    public void Day_lengths_follow_daylight_saving(string zoneId, int year, int month, int day, int hours)
    {
        var zone = new DailyQuotaCalendar().Resolve(zoneId);
        var date = new DateOnly(year, month, day);

        var length = DailyQuotaCalendar.StartOfDay(date.AddDays(1), zone) - DailyQuotaCalendar.StartOfDay(date, zone);

        Assert.Equal(TimeSpan.FromHours(hours), length);
    }

    [Fact]
    public void Los_Angeles_days_start_at_local_midnight()
    {
        var zone = new DailyQuotaCalendar().Resolve("America/Los_Angeles");
        Assert.Equal(new DateTimeOffset(2025, 3, 9, 8, 0, 0, TimeSpan.Zero), DailyQuotaCalendar.StartOfDay(new DateOnly(2025, 3, 9), zone));
        Assert.Equal(new DateTimeOffset(2025, 3, 10, 7, 0, 0, TimeSpan.Zero), DailyQuotaCalendar.StartOfDay(new DateOnly(2025, 3, 10), zone));
    }

    [Theory]
    [InlineData("America/Los_Angeles")]
    [InlineData("America/Santiago")] // daylight saving starts at midnight: 00:00 does not exist
    [InlineData("America/Havana")] // daylight saving ends at 01:00 → 00:00: midnight happens twice
    [InlineData("Australia/Lord_Howe")] // 30-minute shifts
    [InlineData("Asia/Kolkata")]
    [InlineData("UTC")]
    public void Every_instant_lies_in_the_window_of_its_local_date(string zoneId)
    {
        var zone = new DailyQuotaCalendar().Resolve(zoneId);
        for (var t = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero); t.Year < 2026; t = t.AddMinutes(37))
        {
            var w = DailyQuotaCalendar.Compute(t, zone);
            var now = t.ToUnixTimeMilliseconds();
            Assert.True(w.PreviousStart < w.Start && w.Start <= now && now < w.End && w.End < w.NextEnd, $"{zoneId} {t:O}: {w}");

            var localDate = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(t, zone).DateTime);
            Assert.Equal(localDate, LocalDate(w.Start, zone));
            Assert.Equal(localDate.AddDays(-1), LocalDate(w.Start - 1, zone));
            Assert.Equal(localDate.AddDays(1), LocalDate(w.End, zone));
            Assert.Equal(localDate, LocalDate(w.End - 1, zone));
        }
    }

    [Fact]
    public void Windows_are_cached_until_the_day_ends_and_then_move_on()
    {
        var calendar = new DailyQuotaCalendar();
        var start = new DateTimeOffset(2025, 6, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

        var first = calendar.WindowsAt("UTC", start + 1000);
        Assert.Equal(first, calendar.WindowsAt("UTC", start + 86_399_999));
        var next = calendar.WindowsAt("UTC", start + 86_400_000);

        Assert.Equal(first.End, next.Start);
        Assert.Equal(first.NextEnd, next.End);
    }

    [Fact]
    public void Unknown_zones_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => new DailyQuotaCalendar().Resolve("Mars/Olympus_Mons"));
    }

    private static DateOnly LocalDate(long unixMs, TimeZoneInfo zone) =>
        DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(DateTimeOffset.FromUnixTimeMilliseconds(unixMs), zone).DateTime);
}
