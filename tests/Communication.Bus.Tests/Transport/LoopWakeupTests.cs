namespace Communication.Bus.Tests;

/// <summary>The idle wait of the consumer loop, without Redis.</summary>
public sealed class LoopWakeupTests
{
    [Fact]
    public async Task A_poke_ends_the_idle_wait()
    {
        var wakeup = new LoopWakeup();
        var waiting = wakeup.WaitAsync(TimeSpan.FromMinutes(5), TestContext.Current.CancellationToken);

        wakeup.Wake();

        await waiting.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_poke_before_the_wait_is_not_lost()
    {
        var wakeup = new LoopWakeup();
        wakeup.Wake();

        await wakeup.WaitAsync(TimeSpan.FromMinutes(5), TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task While_polling_fast_a_long_wait_is_cut_short()
    {
        var wakeup = new LoopWakeup();
        wakeup.PollFast();

        // Not poked: only the fast-poll cap (2 ms) can end a five-minute wait.
        await wakeup.WaitAsync(TimeSpan.FromMinutes(5), TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Stopping_cancels_the_wait()
    {
        var wakeup = new LoopWakeup();
        using var stop = new CancellationTokenSource();
        var waiting = wakeup.WaitAsync(TimeSpan.FromMinutes(5), stop.Token);

        await stop.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(30)));
    }
}
