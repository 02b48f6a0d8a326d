using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Communication.Bus.Contracts;
using Orchestration.Api.Tests.Integration;
using StackExchange.Redis;
using TestSupport;
using static Orchestration.Api.Tests.Integration.OrchestrationClient;

namespace Orchestration.Api.Tests.Chaos;

/// <summary>
/// The chaos tier: real redis-server (append-only file on, as the AppHost runs it) and the built service as OS
/// processes, outside agents on the bus, and a fault injected while runs are in flight — Redis killed and
/// restarted, paused (<c>CLIENT PAUSE</c>), blocked (<c>DEBUG SLEEP</c>), a service replica killed with -9. Each
/// asserts the promise of docs/RELIABILITY.md: every run finishes and succeeds, no step attempt is delivered
/// twice, none is lost. The load is <c>CHAOS_RUNS</c> runs of three steps (CI: 12; locally e.g.
/// <c>CHAOS_RUNS=200 ./scripts/test --filter "FullyQualifiedName~Chaos"</c>). Each test appends its outcome row
/// to <c>artifacts/chaos/results.md</c> (the table in docs/RELIABILITY.md comes from there).
/// </summary>
[Collection(nameof(ServiceProcesses))]
public sealed class ChaosTests : IAsyncLifetime
{
    private const string Service = "Orchestration.Api";
    private static readonly string[] StepIds = ["s1", "s2", "s3"];
    private readonly List<IAsyncDisposable> _owned = [];
    private readonly List<FakeAgent> _agents = [];
    private readonly ConcurrentDictionary<AttemptKey, int> _completed = new();
    private RedisServer _redis = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static int RunCount => int.TryParse(Environment.GetEnvironmentVariable("CHAOS_RUNS"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 12;

    public async ValueTask InitializeAsync() =>
        // appendfsync always: what a write acknowledged before the kill is on disk (the AppHost's Redis uses everysec).
        _redis = await RedisServer.StartAsync("--appendonly", "yes", "--appendfsync", "always", "--enable-debug-command", "local");

    public async ValueTask DisposeAsync()
    {
        foreach (var agent in _agents)
        {
            await agent.DisposeAsync();
        }

        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }

        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task Redis_killed_and_restarted_mid_load_every_run_succeeds_with_each_attempt_once()
    {
        await RunWithFaultAsync("Redis killed (-9) and restarted, AOF on", async (_, api) =>
        {
            _redis.Stop();
            await WaitUntilNotReadyAsync(api);
            await _redis.RestartAsync();
        });
    }

    [Fact]
    public async Task Redis_paused_for_ten_seconds_mid_load_every_run_succeeds_with_each_attempt_once()
    {
        await RunWithFaultAsync("Redis paused 10 s (CLIENT PAUSE ALL)", async (_, _) =>
            Assert.Equal("+OK", await _redis.CommandAsync("CLIENT PAUSE 10000 ALL")));
    }

    [Fact]
    public async Task Redis_blocked_by_a_slow_command_mid_load_every_run_succeeds_with_each_attempt_once()
    {
        await RunWithFaultAsync("Redis blocked 5 s (DEBUG SLEEP 5)", (_, _) =>
        {
            // DEBUG SLEEP answers only when the server wakes up: send it and do not wait for the reply.
            _ = _redis.CommandAsync("DEBUG SLEEP 5");
            return Task.CompletedTask;
        });
    }

    [Fact]
    public async Task A_replica_killed_mid_load_leaves_the_other_to_finish_every_run_with_each_attempt_once()
    {
        await RunWithFaultAsync("one of two service replicas killed (-9)", (first, _) => first.KillAsync(), replicas: 2);
    }

    [Fact]
    public async Task The_gateway_killed_mid_load_and_restarted_its_hosted_agents_finish_every_run()
    {
        var (orchestration, api) = await StartServiceAsync();
        var gatewaySettings = new Dictionary<string, string?>
        {
            ["HostedAgents:ApiKey"] = TestSecrets.ApiKey,
            ["HostedAgents:OrchestrationUrl"] = orchestration.BaseAddress.ToString(),
            ["HostedAgents:HeartbeatInterval"] = "00:00:01",
            ["Gemini:ApiKey"] = null, // the offline provider answers every model
            ["OpenAI:ApiKey"] = null,
        };
        var gateway = await ServiceProcess.StartAsync("Ai.Gateway", _redis.ConnectionString, gatewaySettings, cancellationToken: Ct);
        _owned.Add(gateway);

        // Two steps for the team leader's "planning" capability, each with a short attempt timeout: a task the killed
        // gateway held is retried (a new attempt), never answered twice.
        await api.PutWorkflowAsync(Wf.Of("chaos-hosted",
            Wf.Step("plan", capability: "planning", timeoutMs: 10_000, backoffMs: 200),
            Wf.Step("replan", capability: "planning", timeoutMs: 10_000, backoffMs: 200)), Ct);
        await Eventually.TrueAsync(async () => (await api.GetStringAsync("/api/agents", Ct)).Contains("team-leader", StringComparison.Ordinal),
            TimeSpan.FromSeconds(60), "the gateway's hosted agents registered");
        var started = DateTimeOffset.UtcNow;
        var runIds = await Task.WhenAll(Enumerable.Range(0, RunCount).Select(i => api.StartRunAsync("chaos-hosted", new { task = $"plan {i}" }, cancellationToken: Ct)));

        await Eventually.ValueAsync(async () => await Task.WhenAll(runIds.Select(id => GetRunOrNullAsync(api, id))),
            all => all.Count(r => r is { } run && Step(run, "plan").GetProperty("status").GetString() == "SUCCEEDED") >= 1,
            TimeSpan.FromMinutes(2), "the hosted agents answer before the fault", TimeSpan.FromMilliseconds(100));
        await gateway.KillAsync();
        var replacement = await ServiceProcess.StartAsync("Ai.Gateway", _redis.ConnectionString, gatewaySettings, cancellationToken: Ct);
        _owned.Add(replacement);

        var runs = await Eventually.ValueAsync(
            async () => await Task.WhenAll(runIds.Select(id => GetRunOrNullAsync(api, id))),
            all => all.All(r => r is { } run && IsTerminal(run)),
            TimeSpan.FromMinutes(4), $"every run ends after the gateway was killed\n--- new gateway output ---\n{replacement.Output}", TimeSpan.FromMilliseconds(250));
        var elapsed = DateTimeOffset.UtcNow - started;

        var notSucceeded = runs.Where(r => Status(r!.Value) != "SUCCEEDED").Select(r => $"{r!.Value.GetProperty("runId").GetString()} {Status(r.Value)}").ToList();
        var steps = runs.SelectMany(r => new[] { Step(r!.Value, "plan"), Step(r.Value, "replan") }).ToList();
        var retried = steps.Count(s => s.GetProperty("attempts").GetInt32() > 1);
        var repeatedAttemptNumbers = steps.Count(s =>
        {
            var numbers = s.GetProperty("attemptHistory").EnumerateArray().Select(a => a.GetProperty("number").GetInt32()).ToList();
            return numbers.Count != numbers.Distinct().Count();
        });
        Record("ai-gateway killed (-9) and restarted", $"{RunCount} runs × 2 steps on the gateway's hosted agents ({retried} step attempts retried after the kill)", RunCount,
            runs.Length - notSucceeded.Count, steps.Count(s => s.GetProperty("status").GetString() != "SUCCEEDED"), repeatedAttemptNumbers, elapsed);

        Assert.Empty(notSucceeded);
        Assert.Equal(0, repeatedAttemptNumbers);
    }

    /// <summary>
    /// Starts the service (<paramref name="replicas"/> processes), two outside agents sharing a capability, and
    /// <see cref="RunCount"/> runs; injects <paramref name="fault"/> once a third of the step attempts have
    /// completed; then waits for every run and checks the counts.
    /// </summary>
    private async Task RunWithFaultAsync(string fault, Func<ServiceProcess, HttpClient, Task> inject, int replicas = 1)
    {
        var services = new List<(ServiceProcess Process, HttpClient Api)>();
        for (var i = 0; i < replicas; i++)
        {
            services.Add(await StartServiceAsync());
        }

        var api = services[^1].Api;
        foreach (var id in new[] { "chaos-a", "chaos-b" })
        {
            var agent = await FakeAgent.StartAsync(id, _redis.ConnectionString, api, ["chaos-work"], cancellationToken: Ct);
            agent.Behaviour = task =>
            {
                _completed.AddOrUpdate(AttemptKey.Of(task), 1, (_, n) => n + 1);
                return AgentAction.Succeed(new { task.StepId, task.Attempt }).After(TimeSpan.FromMilliseconds(Random.Shared.Next(20, 120)));
            };
            _agents.Add(agent);
        }

        await api.PutWorkflowAsync(Wf.Of("chaos", [.. StepIds.Select(s => Wf.Step(s, capability: "chaos-work", backoffMs: 200))]), Ct);
        var started = DateTimeOffset.UtcNow;
        var runIds = await Task.WhenAll(Enumerable.Range(0, RunCount).Select(i => services[i % replicas].Api.StartRunAsync("chaos", new { i }, cancellationToken: Ct)));

        var total = RunCount * StepIds.Length;
        await Eventually.TrueAsync(() => _completed.Count >= total / 3, TimeSpan.FromMinutes(2), "a third of the step attempts completed before the fault");
        var completedBeforeFault = _completed.Count;
        await inject(services[0].Process, api);
        Assert.True(completedBeforeFault < total, "the fault hit while steps were still in flight");

        // Every run ends, read through a replica that was not killed.
        var survivor = services[^1];
        var runs = await Eventually.ValueAsync(
            async () => await Task.WhenAll(runIds.Select(id => GetRunOrNullAsync(survivor.Api, id))),
            all => all.All(r => r is { } run && IsTerminal(run)),
            TimeSpan.FromMinutes(4), $"every run ends after: {fault}\n--- service output ---\n{survivor.Process.Output}", TimeSpan.FromMilliseconds(250));
        var elapsed = DateTimeOffset.UtcNow - started;

        var deliveries = FakeAgent.DeliveryCounts(_agents);
        var notSucceeded = runs.Where(r => Status(r!.Value) != "SUCCEEDED").Select(r => $"{r!.Value.GetProperty("runId").GetString()} {Status(r.Value)}").ToList();
        var duplicated = deliveries.Where(d => d.Value > 1).Select(d => $"{d.Key}: {d.Value} deliveries").ToList();
        var stepsWithoutOutput = runs.SelectMany(r => StepIds.Where(s => Step(r!.Value, s).GetProperty("status").GetString() != "SUCCEEDED")
            .Select(s => $"{r!.Value.GetProperty("runId").GetString()}/{s}")).ToList();
        Record(fault, $"{RunCount} runs × 3 steps, {replicas} replica(s), 2 outside agents", RunCount, runs.Length - notSucceeded.Count, stepsWithoutOutput.Count, duplicated.Count, elapsed);

        Assert.Equal(RunCount, runIds.Distinct().Count());
        Assert.Empty(notSucceeded);
        Assert.Empty(stepsWithoutOutput);
        Assert.Empty(duplicated);
        Assert.All(_agents, a => Assert.Empty(a.Errors));
    }

    private static async Task<JsonElement?> GetRunOrNullAsync(HttpClient api, string runId)
    {
        try
        {
            using var response = await api.GetAsync($"/api/runs/{runId}", Ct);
            return response.StatusCode == HttpStatusCode.OK
                ? JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement.Clone()
                : null;
        }
        catch (HttpRequestException)
        {
            return null; // the replica is reconnecting
        }
        catch (TaskCanceledException) when (!Ct.IsCancellationRequested)
        {
            return null;
        }
    }

    private static async Task WaitUntilNotReadyAsync(HttpClient api) =>
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                using var response = await api.GetAsync("/health/ready", Ct);
                return response.StatusCode != HttpStatusCode.OK;
            }
            catch (HttpRequestException)
            {
                return true;
            }
        }, TimeSpan.FromSeconds(60), "the service notices that Redis is gone");

    private async Task<(ServiceProcess Process, HttpClient Api)> StartServiceAsync()
    {
        var process = await ServiceProcess.StartAsync(Service, _redis.ConnectionString, IntegrationTest.FastTimings(), cancellationToken: Ct);
        _owned.Add(process);
        var api = process.CreateAuthorizedClient();
        _owned.Add(new DisposableClient(api));
        return (process, api);
    }

    /// <summary>Appends this test's outcome to artifacts/chaos/results.md (the source of docs/RELIABILITY.md's table).</summary>
    private static void Record(string fault, string load, int runs, int succeeded, int lostSteps, int duplicated, TimeSpan elapsed)
    {
        var directory = FindArtifacts();
        if (directory is null)
        {
            return;
        }

        var path = Path.Combine(directory, "chaos", "results.md");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (!File.Exists(path))
        {
            File.WriteAllText(path, "| fault | load while injected | outcome | lost | duplicated | wall time |\n|---|---|---|---|---|---|\n");
        }

        File.AppendAllText(path, string.Create(CultureInfo.InvariantCulture,
            $"| {fault} | {load} | {succeeded}/{runs} runs SUCCEEDED | {lostSteps} steps | {duplicated} attempts | {elapsed.TotalSeconds:F1} s |\n"));
    }

    private static string? FindArtifacts()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (directory.Name == "artifacts")
            {
                return directory.FullName;
            }
        }

        return null;
    }
}
