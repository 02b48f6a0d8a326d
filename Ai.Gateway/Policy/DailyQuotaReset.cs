namespace Ai.Gateway.Policy;

/// <summary>When a provider's per-day quota comes back: the next midnight in <see cref="GatewayPolicyOptions.DailyQuotaTimeZone"/>.</summary>
internal static class DailyQuotaReset
{
    public static TimeSpan After(DateTimeOffset now, string timeZoneId)
    {
        var zone = timeZoneId is "UTC" or "Etc/UTC" ? TimeZoneInfo.Utc : TimeZoneInfo.FindSystemTimeZoneById(timeZoneId);
        var midnight = TimeZoneInfo.ConvertTime(now, zone).Date.AddDays(1);
        // A midnight skipped by a daylight-saving jump starts the day at the jump; a repeated one at its first time.
        var offset = zone.IsInvalidTime(midnight) ? zone.GetUtcOffset(midnight.AddHours(-6))
            : zone.IsAmbiguousTime(midnight) ? zone.GetAmbiguousTimeOffsets(midnight).Max()
            : zone.GetUtcOffset(midnight);
        var reset = new DateTimeOffset(midnight, offset) - now;
        return reset > TimeSpan.Zero ? reset : TimeSpan.FromSeconds(1);
    }
}
