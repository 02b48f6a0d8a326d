using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace ServiceDefaults.Tests;

/// <summary>Issue 8: a check that hangs and ignores its token fails at the limit on the app's clock.</summary>
public sealed class HealthCheckTimeoutTests
{
    [Fact]
    public async Task A_hanging_check_that_ignores_cancellation_is_unhealthy_at_the_limit()
    {
        var time = new FakeTimeProvider();
        var hung = new TaskCompletionSource<HealthCheckResult>();
        var called = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.AddDefaultHealthChecks();
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.Services.AddHealthChecks().AddCheck("hangs", new HangingCheck(called, hung.Task));
        using var host = builder.Build();
        var health = host.Services.GetRequiredService<HealthCheckService>();

        var report = health.CheckHealthAsync(TestContext.Current.CancellationToken);
        await called.Task; // the deadline starts before the check is called
        time.Advance(TimeSpan.FromSeconds(1.5) - TimeSpan.FromMilliseconds(1));
        Assert.False(report.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));

        var result = await report.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Equal(HealthStatus.Healthy, result.Entries["self"].Status);
        Assert.Contains("did not answer within 1.5 s", result.Entries["hangs"].Description, StringComparison.Ordinal);
        hung.SetResult(HealthCheckResult.Healthy());
    }

    private sealed class HangingCheck(TaskCompletionSource called, Task<HealthCheckResult> answer) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            called.TrySetResult();
            return answer;
        }
    }
}
