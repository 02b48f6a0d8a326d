using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Bounds one health check on the app's <see cref="TimeProvider"/> (issue 8). The health check service's own
/// timeout only cancels a token, and a check that ignores it (the Redis client check, which waits out the
/// client's 5 s command timeout while Redis hangs or reconnects) kept readiness waiting 5–6 s. This stops
/// waiting at the limit and reports the check's failure status, whatever the check does with the token.
/// </summary>
internal sealed class BoundedHealthCheck(IHealthCheck inner, TimeProvider time, TimeSpan limit) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var deadline = time.StartDeadline(limit, cancellationToken);
        var check = inner.CheckHealthAsync(context, deadline.Token);
        try
        {
            return await check.WaitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.HasExpired)
        {
            // The abandoned check ends on its own (its client's timeout); observe its outcome so it is not unobserved.
            _ = check.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return new HealthCheckResult(context.Registration.FailureStatus,
                $"The check '{context.Registration.Name}' did not answer within {limit.TotalSeconds:0.0} s.");
        }
    }
}
