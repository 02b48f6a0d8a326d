using Ai.Gateway.Tools;
using Ai.Gateway.Tools.BuiltIn;
using Microsoft.Extensions.Time.Testing;
using static Ai.Gateway.Tests.Tools.FakeTool;

namespace Ai.Gateway.Tests.Tools;

public sealed class TimeNowToolTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("""{}""", "2025-03-01T12:00:00.000+00:00", "UTC", "+00:00")]
    [InlineData("""{ "timeZone": "Asia/Riyadh" }""", "2025-03-01T15:00:00.000+03:00", "Asia/Riyadh", "+03:00")]
    [InlineData("""{ "timeZone": "America/New_York" }""", "2025-03-01T07:00:00.000-05:00", "America/New_York", "-05:00")]
    public async Task Returns_the_providers_time_in_the_zone_asked_for(string arguments, string iso, string zone, string offset)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));
        var runtime = Runtime(time, new TimeNowTool(time));

        var outcome = await runtime.InvokeAsync("time_now", JsonOf(arguments), Cancel);

        Assert.Equal(ToolInvocationStatus.Succeeded, outcome.Status);
        Assert.Equal(iso, outcome.Result.GetProperty("iso").GetString());
        Assert.Equal(1740830400000, outcome.Result.GetProperty("unixMs").GetInt64());
        Assert.Equal(zone, outcome.Result.GetProperty("timeZone").GetString());
        Assert.Equal(offset, outcome.Result.GetProperty("utcOffset").GetString());
    }

    [Fact]
    public async Task Follows_daylight_saving_time()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));
        var runtime = Runtime(time, new TimeNowTool(time));
        time.Advance(TimeSpan.FromDays(122)); // 2025-07-01, summer time in New York

        var outcome = await runtime.InvokeAsync("time_now", JsonOf("""{ "timeZone": "America/New_York" }"""), Cancel);

        Assert.Equal("2025-07-01T08:00:00.000-04:00", outcome.Result.GetProperty("iso").GetString());
        Assert.Equal(1751371200000, outcome.Result.GetProperty("unixMs").GetInt64());
    }

    [Fact]
    public async Task An_unknown_time_zone_is_an_argument_error()
    {
        var time = new FakeTimeProvider();
        var runtime = Runtime(time, new TimeNowTool(time));

        var outcome = await runtime.InvokeAsync("time_now", JsonOf("""{ "timeZone": "Mars/Olympus_Mons" }"""), Cancel);

        Assert.Equal(ToolInvocationStatus.InvalidArguments, outcome.Status);
        Assert.Equal("/timeZone", Assert.Single(outcome.Errors).Path);
    }
}
