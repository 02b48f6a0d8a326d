using Communication.Bus.RateLimiting;
using Microsoft.Extensions.Time.Testing;

namespace Communication.Bus.Tests.RateLimiting;

/// <summary>The shared command-timeout tokens (no Redis).</summary>
public sealed class SharedDeadlinesTests
{
    [Fact]
    public void Every_token_fires_between_the_timeout_and_a_quarter_more()
    {
        var clock = new FakeTimeProvider();
        var start = clock.GetUtcNow();
        var timeout = TimeSpan.FromSeconds(1);
        using var deadlines = new SharedDeadlines(timeout, clock);
        var taken = new List<(TimeSpan At, CancellationToken Token)>();
        var fired = new Dictionary<int, TimeSpan>();

        for (var ms = 0; ms < 5000; ms += 10)
        {
            if (ms < 3000)
            {
                var index = taken.Count;
                var token = deadlines.Next();
                taken.Add((clock.GetUtcNow() - start, token));
                token.Register(() => fired[index] = clock.GetUtcNow() - start);
            }

            clock.Advance(TimeSpan.FromMilliseconds(10));
        }

        Assert.Equal(taken.Count, fired.Count);
        for (var i = 0; i < taken.Count; i++)
        {
            var waited = fired[i] - taken[i].At;
            Assert.InRange(waited, timeout, timeout * 1.25);
        }
    }
}
