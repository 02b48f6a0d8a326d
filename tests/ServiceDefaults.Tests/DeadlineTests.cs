using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace ServiceDefaults.Tests;

public sealed class DeadlineTests
{
    [Fact]
    public void A_deadline_expires_on_the_time_providers_clock()
    {
        var time = new FakeTimeProvider();
        using var deadline = time.StartDeadline(TimeSpan.FromSeconds(3), CancellationToken.None);

        time.Advance(TimeSpan.FromSeconds(2.9));
        Assert.False(deadline.Token.IsCancellationRequested);

        time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.True(deadline.Token.IsCancellationRequested);
        Assert.True(deadline.HasExpired);
    }

    [Fact]
    public void The_callers_cancellation_is_not_an_expiry()
    {
        var time = new FakeTimeProvider();
        using var caller = new CancellationTokenSource();
        using var deadline = time.StartDeadline(TimeSpan.FromSeconds(3), caller.Token);

        caller.Cancel();

        Assert.True(deadline.Token.IsCancellationRequested);
        Assert.False(deadline.HasExpired);
        Assert.Equal(caller.Token, deadline.CallerToken);
    }

    [Fact]
    public void Restart_bounds_the_silence_since_the_last_restart()
    {
        var time = new FakeTimeProvider();
        using var deadline = time.StartDeadline(TimeSpan.FromSeconds(3), CancellationToken.None);

        time.Advance(TimeSpan.FromSeconds(2));
        deadline.Restart();
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.False(deadline.Token.IsCancellationRequested);

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(deadline.HasExpired);
        Assert.Equal(TimeSpan.FromSeconds(3), deadline.Limit);

        deadline.Restart();
        Assert.True(deadline.HasExpired);
    }

    [Fact]
    public void An_infinite_deadline_never_expires()
    {
        var time = new FakeTimeProvider();
        using var deadline = time.StartDeadline(Timeout.InfiniteTimeSpan, CancellationToken.None);

        deadline.Restart();
        time.Advance(TimeSpan.FromDays(365));

        Assert.False(deadline.Token.IsCancellationRequested);
    }
}
