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
/// restarted, paused (<c>CLIENT PAUSE</c>), blocked (<c>DEBUG SLEEP</c>), a service replica killed with -9, an outside
/// agent's process (tests/OutsideAgent) killed with -9 while it holds tasks. Each
/// asserts the promise of docs/RELIABILITY.md: every run finishes and succeeds, no step attempt is delivered
/// twice (but the tasks a killed agent held, to its next instance) nor applied twice, none is lost. The load is <c>CHAOS_RUNS</c> runs of three steps (CI: 12; locally e.g.
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

    [Fact]
    public async Task An_outside_agent_process_killed_holding_tasks_its_next_instance_reclaims_them_and_every_run_succeeds()
    {
        // The new instance's consumer reclaims the dead one's pending tasks after 2 s idle, long before the 30 s attempt timeout.
        await OutsideAgentKilledAsync("outside agent process killed (-9) holding tasks, new instance reclaims them", TimeSpan.FromSeconds(2), stepTimeoutMs: 30_000, reclaimed: true);
    }

    [Fact]
    public async Task An_outside_agent_process_killed_holding_tasks_whose_attempts_time_out_first_every_run_succeeds_on_a_retry()
    {
        // The claim idle time (60 s) is longer than the attempt timeout (4 s): the orchestrator retries first.
        await OutsideAgentKilledAsync("outside agent process killed (-9) holding tasks, attempts time out first", TimeSpan.FromSeconds(60), stepTimeoutMs: 4_000, reclaimed: false);
    }

    /// <summary>
    /// The service as a process, trusting the outside agents' key for senders <c>outside.*</c> as the AppHost does, and
    /// tests/OutsideAgent as its own OS process with that key and an agent-role API key. The first instance answers a
    /// third of the step attempts of <see cref="RunCount"/> three-step runs and then holds every task it takes; once it
    /// holds some it is killed with -9 and a new instance (a new process, so a new consumer in the same group) starts.
    /// Its ledger file (one line per received, held and answered task) gives the counts.
    /// </summary>
    private async Task OutsideAgentKilledAsync(string fault, TimeSpan claimIdleTime, long stepTimeoutMs, bool reclaimed)
    {
        const string AgentId = "chaos-outside", BusName = "outside.chaos-outside", Capability = "outside-work";
        const string AgentKeySecret = "outside-agents-signing-secret-0123456789abcdef", AgentApiKey = "outside-agent-api-key-0123456789";
        var (service, api) = await StartServiceAsync(new Dictionary<string, string?>
        {
            ["Bus:ServiceName"] = "Orchestration.Api",
            ["Bus:Signing:Keys:0:Senders"] = "Orchestration.Api",
            ["Bus:Signing:Keys:1:Id"] = "outside-agents",
            ["Bus:Signing:Keys:1:Secret"] = AgentKeySecret,
            ["Bus:Signing:Keys:1:Senders"] = "outside.*",
            ["Bus:Signing:Keys:1:State"] = "verify-only",
            ["Auth:ApiKeys:outside-agent"] = AgentApiKey,
            ["Auth:Roles:outside-agent"] = "agent",
        });
        var agentSettings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:redis"] = _redis.ConnectionString,
            ["Bus:ServiceName"] = BusName,
            ["Bus:Signing:Keys:0:Id"] = "outside-agents",
            ["Bus:Signing:Keys:0:Secret"] = AgentKeySecret,
            ["Bus:Signing:Keys:0:Senders"] = "outside.*",
            ["Bus:Signing:Keys:1:Id"] = TestSecrets.SigningKeyId,
            ["Bus:Signing:Keys:1:Secret"] = TestSecrets.SigningSecret,
            ["Bus:Signing:Keys:1:Senders"] = "Orchestration.Api",
            ["Bus:Signing:Keys:1:State"] = "verify-only",
            ["Bus:Subscription:ClaimIdleTime"] = claimIdleTime.ToString("c", CultureInfo.InvariantCulture),
            ["Clients:orchestration-api:BaseAddress"] = service.BaseAddress.ToString(),
            ["Clients:orchestration-api:ApiKey"] = AgentApiKey,
            ["Agent:Id"] = AgentId,
            ["Agent:Capabilities:0"] = Capability,
            ["Agent:WorkTime"] = "00:00:00.100",
            ["Agent:HeartbeatInterval"] = "00:00:02",
        };
        using var ledger = new OutsideAgentLedger();
        var total = RunCount * StepIds.Length;
        var answerLimit = total / 3;
        var first = await OutsideAgentProcess.StartAsync(
            new Dictionary<string, string?>(agentSettings) { ["Agent:AnswerLimit"] = answerLimit.ToString(CultureInfo.InvariantCulture) }, ledger);
        _owned.Add(first);

        await api.PutWorkflowAsync(Wf.Of("chaos-outside", [.. StepIds.Select(s => Wf.Step(s, capability: Capability, timeoutMs: stepTimeoutMs, backoffMs: 200))]), Ct);
        var started = DateTimeOffset.UtcNow;
        var runIds = await Task.WhenAll(Enumerable.Range(0, RunCount).Select(i => api.StartRunAsync("chaos-outside", new { i }, cancellationToken: Ct)));

        await Eventually.TrueAsync(() =>
            {
                var entries = ledger.Read();
                return entries.Count(e => e.What == "answered") == answerLimit && entries.Any(e => e.What == "held");
            }, TimeSpan.FromMinutes(2), $"the first agent instance answers {answerLimit} tasks and then holds some\n--- agent output ---\n{first.Output}");
        await first.KillAsync();
        var held = ledger.Read().Where(e => e.What == "held" && e.Pid == first.ProcessId).Select(e => e.Key).ToHashSet(StringComparer.Ordinal);
        var second = await OutsideAgentProcess.StartAsync(agentSettings, ledger);
        _owned.Add(second);

        var runs = (await Eventually.ValueAsync(
            async () => await Task.WhenAll(runIds.Select(id => GetRunOrNullAsync(api, id))),
            all => all.All(r => r is { } run && IsTerminal(run)),
            TimeSpan.FromMinutes(2), $"every run ends after: {fault}\n--- new agent output ---\n{second.Output}", TimeSpan.FromMilliseconds(250)))
            .Select(r => r!.Value).ToList();
        var elapsed = DateTimeOffset.UtcNow - started;

        var ledgerEntries = ledger.Read();
        var received = ledgerEntries.Where(e => e.What == "received").GroupBy(e => e.Key).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var answered = ledgerEntries.Where(e => e.What == "answered").GroupBy(e => e.Key).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var steps = runs.SelectMany(r => StepIds.Select(s => (Run: r.GetProperty("runId").GetString()!, Step: Step(r, s)))).ToList();
        var notSucceeded = runs.Where(r => Status(r) != "SUCCEEDED").Select(r => $"{r.GetProperty("runId").GetString()} {Status(r)}").ToList();
        var stepsWithoutOutput = steps.Where(s => s.Step.GetProperty("status").GetString() != "SUCCEEDED" || Value(s.Step, "output") is null)
            .Select(s => $"{s.Run}/{s.Step.GetProperty("id").GetString()}").ToList();
        // The attempt whose answer completed each step (its output names it), and the process that answered it.
        var completions = steps.Where(s => Value(s.Step, "output") is not null).Select(s =>
        {
            var output = s.Step.GetProperty("output");
            return (Key: $"{s.Run}/{s.Step.GetProperty("id").GetString()}#{output.GetProperty("attempt").GetInt32()}", Pid: output.GetProperty("pid").GetInt32(), s.Step);
        }).ToList();
        var answeredTwice = answered.Where(a => a.Value.Count > 1).Select(a => $"{a.Key}: answered {a.Value.Count} times").ToList();
        var redeliveredButNotHeld = received.Where(r => r.Value > 1 && !held.Contains(r.Key)).Select(r => $"{r.Key}: {r.Value} deliveries").ToList();
        var repeatedAttemptNumbers = steps.Count(s =>
        {
            var numbers = s.Step.GetProperty("attemptHistory").EnumerateArray().Select(a => a.GetProperty("number").GetInt32()).ToList();
            return numbers.Count != numbers.Distinct().Count();
        });
        var completedTwice = new List<string>();
        foreach (var runId in runIds)
        {
            var events = await api.GetStringAsync($"/api/runs/{runId}/events", Ct);
            completedTwice.AddRange(StepIds.Where(s => CountOccurrences(events, $"\"type\":\"step_completed\"", $"\"stepId\":\"{s}\"") != 1)
                .Select(s => $"{runId}/{s}: {CountOccurrences(events, $"\"type\":\"step_completed\"", $"\"stepId\":\"{s}\"")} step_completed events"));
        }

        var attemptsSent = steps.Sum(s => s.Step.GetProperty("attempts").GetInt32());
        var retried = steps.Count(s => s.Step.GetProperty("attempts").GetInt32() > 1);
        Record(fault, $"{RunCount} runs × 3 steps on one outside agent process, killed holding {held.Count} tasks ({retried} steps retried, {held.Count(k => received.GetValueOrDefault(k) > 1)} tasks redelivered to the new process)",
            RunCount, runs.Count - notSucceeded.Count, stepsWithoutOutput.Count, answeredTwice.Count + completedTwice.Count, elapsed);

        Assert.NotEmpty(held);
        Assert.Empty(notSucceeded);
        Assert.Empty(stepsWithoutOutput);
        Assert.Empty(answeredTwice);            // no attempt answered twice, across both processes
        Assert.Empty(completedTwice);           // no step completed twice (no result applied twice)
        Assert.Equal(0, repeatedAttemptNumbers);
        Assert.Empty(redeliveredButNotHeld);    // only what the dead process held came again
        // Every step's output is the answer of an attempt the ledger saw answered, by the process it names.
        Assert.All(completions, c => Assert.True(answered.TryGetValue(c.Key, out var a) && a[0].Pid == c.Pid, $"{c.Key} completed by pid {c.Pid} but the ledger has {(answered.TryGetValue(c.Key, out var x) ? $"pid {x[0].Pid}" : "no answer")}"));
        // Counts: every attempt the orchestrator sent reached the agent; the answers are one per step plus late ones.
        Assert.Equal(attemptsSent, received.Count);
        Assert.Equal(total, completions.Count);
        Assert.Equal(total, answered.Count(a => completions.Any(c => c.Key == a.Key)));
        if (reclaimed)
        {
            // The new instance took over what the dead one held: the same attempts, answered by it, nothing retried.
            Assert.All(held, key => Assert.Equal(2, received[key]));
            Assert.All(held, key => Assert.Equal(second.ProcessId, Assert.Single(answered[key]).Pid));
            Assert.Equal(0, retried);
            Assert.Equal(total, attemptsSent);
        }
        else
        {
            // What the dead process held timed out and was retried as a new attempt; the held attempts were never answered.
            Assert.All(held, key => Assert.False(answered.ContainsKey(key), $"{key} was answered"));
            Assert.True(retried >= held.Count, $"{retried} steps retried, {held.Count} attempts held");
        }
    }

    private static int CountOccurrences(string events, string type, string stepId) =>
        events.Split('\n').Count(line => line.Contains(type, StringComparison.Ordinal) && line.Contains(stepId, StringComparison.Ordinal));

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

    private async Task<(ServiceProcess Process, HttpClient Api)> StartServiceAsync(IDictionary<string, string?>? settings = null)
    {
        var all = IntegrationTest.FastTimings();
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        var process = await ServiceProcess.StartAsync(Service, _redis.ConnectionString, all, cancellationToken: Ct);
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
