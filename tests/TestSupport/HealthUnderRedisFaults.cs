using System.Diagnostics;
using System.Net;

namespace TestSupport;

/// <summary>
/// Issue 8: what a service's probes answer while its Redis hangs (<c>CLIENT PAUSE</c>, <c>DEBUG SLEEP</c>) or is down.
/// Readiness must turn 503 and answer promptly; liveness must stay 200. Shared by both services' tests.
/// </summary>
public static class HealthUnderRedisFaults
{
    /// <summary>
    /// A probe's answer bound: the readiness contract is "503 within 2 s" (each check times out after 1.5 s); this
    /// bound is looser so a loaded CI machine does not fail it, and still far below the 5+ s a hung Redis used to cost.
    /// </summary>
    public static readonly TimeSpan AnswerBound = TimeSpan.FromSeconds(4);

    public enum Fault { ClientPause, DebugSleep, Down }

    /// <summary>The redis-server arguments a fault needs (DEBUG is disabled by default since Redis 7).</summary>
    public static string[] ServerArgs => ["--enable-debug-command", "yes"];

    /// <summary>
    /// Waits until the service is ready, injects <paramref name="fault"/>, then probes until readiness says 503,
    /// asserting every probe answered within <see cref="AnswerBound"/> and that liveness stayed 200. Undoes the fault after.
    /// </summary>
    public static async Task ProbeAsync(HttpClient client, RedisServer redis, Fault fault)
    {
        await Eventually.TrueAsync(async () => (await GetAsync(client, "/health/ready")).Status == HttpStatusCode.OK,
            because: "the service is ready before the fault");

        Task? sleeping = null;
        switch (fault)
        {
            case Fault.ClientPause:
                // Paused clients include one that would send CLIENT UNPAUSE, so the pause just runs out.
                await redis.CommandAsync("CLIENT PAUSE 8000 ALL");
                break;
            case Fault.DebugSleep:
                // DEBUG SLEEP blocks the server itself; its own reply comes only when it wakes, so do not wait for it.
                sleeping = redis.CommandAsync("DEBUG SLEEP 8");
                break;
            case Fault.Down:
                redis.Stop();
                break;
        }

        try
        {
            var probes = new List<(string Path, HttpStatusCode Status, TimeSpan Took)>();
            await Eventually.TrueAsync(async () =>
            {
                var ready = await GetAsync(client, "/health/ready");
                var health = await GetAsync(client, "/health");
                var alive = await GetAsync(client, "/alive");
                probes.Add(("/health/ready", ready.Status, ready.Took));
                probes.Add(("/health", health.Status, health.Took));
                probes.Add(("/alive", alive.Status, alive.Took));
                return ready.Status == HttpStatusCode.ServiceUnavailable && health.Status == HttpStatusCode.ServiceUnavailable;
            }, TimeSpan.FromSeconds(20), because: $"readiness turns 503 under {fault}");

            var report = string.Join("; ", probes.Select(p => $"{p.Path} {(int)p.Status} in {p.Took.TotalMilliseconds:F0} ms"));
            var slow = probes.Where(p => p.Took > AnswerBound).ToList();
            if (slow.Count > 0)
            {
                throw new InvalidOperationException($"Under {fault} a probe took longer than {AnswerBound.TotalSeconds} s: {report}");
            }

            var deadAlive = probes.Where(p => p.Path == "/alive" && p.Status != HttpStatusCode.OK).ToList();
            if (deadAlive.Count > 0)
            {
                throw new InvalidOperationException($"Under {fault} liveness failed although only Redis is at fault: {report}");
            }
        }
        finally
        {
            switch (fault)
            {
                case Fault.DebugSleep:
                    await sleeping!;
                    break;
                case Fault.Down:
                    await redis.RestartAsync();
                    break;
            }
        }

        // Without the fault the service comes back by itself (the connection reconnects, the checks pass again).
        await Eventually.TrueAsync(async () => (await GetAsync(client, "/health/ready")).Status == HttpStatusCode.OK,
            TimeSpan.FromSeconds(30), because: $"readiness recovers after {fault}");
    }

    private static async Task<(HttpStatusCode Status, TimeSpan Took)> GetAsync(HttpClient client, string path)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            using var response = await client.GetAsync(path);
            return (response.StatusCode, clock.Elapsed);
        }
        catch (TaskCanceledException)
        {
            // The client's own timeout: report it as a gateway timeout so the bound check names it.
            return (HttpStatusCode.GatewayTimeout, clock.Elapsed);
        }
    }
}
