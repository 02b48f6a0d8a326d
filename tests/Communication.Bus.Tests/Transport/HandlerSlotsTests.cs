namespace Communication.Bus.Tests;

/// <summary>The handler slots without Redis.</summary>
public sealed class HandlerSlotsTests
{
    [Fact]
    public void Take_gives_at_most_the_free_slots_and_release_returns_them()
    {
        var slots = new HandlerSlots(3);

        Assert.Equal(2, slots.Take(2));
        Assert.Equal(1, slots.Take(5));
        Assert.Equal(0, slots.Take(1));
        slots.Release(2);
        Assert.Equal(2, slots.Free);
        Assert.Equal(2, slots.Take(10));
        Assert.Equal(0, slots.Free);
    }

    [Fact]
    public async Task A_release_after_none_was_free_wakes_the_waiting_loop_and_a_later_one_does_not_signal_again()
    {
        var slots = new HandlerSlots(2);
        Assert.Equal(2, slots.Take(2));
        var waiting = slots.WaitForReleaseAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        Assert.False(waiting.IsCompleted);

        slots.Release(1);

        Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        slots.Release(1); // 1 → 2 free: the loop was not waiting for this one
        Assert.False(await slots.WaitForReleaseAsync(TimeSpan.Zero, TestContext.Current.CancellationToken));
        Assert.Equal(2, slots.Free);
    }

    [Fact]
    public async Task Concurrent_takes_and_releases_neither_lose_nor_invent_a_slot()
    {
        var slots = new HandlerSlots(8);
        var held = 0;
        var maxHeld = 0;
        var workers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 20_000; i++)
            {
                var taken = slots.Take(3);
                if (taken == 0)
                {
                    continue;
                }

                var now = Interlocked.Add(ref held, taken);
                InterlockedMax(ref maxHeld, now);
                Interlocked.Add(ref held, -taken);
                slots.Release(taken);
            }
        }, TestContext.Current.CancellationToken));

        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(8, slots.Free);
        Assert.InRange(maxHeld, 1, 8);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
