// --only replicas (issue 12): many replicas on one Redis (or a local Redis Cluster), rolling kill -9 restarts of every
// replica during the load, and what that costs: runs finished, step attempts executed twice, messages lost, run latency,
// throughput against one replica of each service.
//
//   dotnet run -c Release --project bench/Orchestration.Load -- --only replicas [--orch 3] [--gateways 2] [--agents 2]
//       [--runs 1000] [--in-flight 20] [--kill-every 5] [--redis single|cluster] [--key-shards 16] [--baseline-runs 500]
//
// Two passes, each on a fresh Redis: the baseline (one orchestration-api, one ai-gateway, no kills) with --baseline-runs
// runs (0: no baseline), then --orch orchestration-api and --gateways ai-gateway processes with --runs runs while every
// --kill-every seconds the next replica in turn (orchestration-api 0, ai-gateway 0, orchestration-api 1, …) is killed
// with SIGKILL and started again at the same address (as behind a service address), so every replica dies at least
// once when the load lasts long enough (the report says how many did). The workflow has five steps: 1, 2, 4 and 5 on
// tests/OutsideAgent (--agents processes of one agent, a real outside agent on the bus with its own bus name), 3 on the
// gateways' hosted agents (offline provider). Runs are started through the replicas in turn with an idempotency key
// and ?waitMs; a request that fails (its replica died) is sent again to the next replica with the same key.
//
// Counted: every execution of a step attempt — the outside agents' ledger (a line written before the work, so it
// survives kill -9) and the hosted agents' Debug line "took a Step task" in the gateways' output files — and, from the
// run views, the attempts each step needed. Executed twice = an attempt with two executions. Lost = an attempt the
// orchestrator dispatched that no agent executed, plus retries (an agent never fails here, so a retry means a task or
// its answer did not arrive within the step's timeout), plus dead letters on any topic.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using StackExchange.Redis;
using TestSupport;

namespace Bench;

internal static partial class ReplicaLoad
{
    private const string ApiKey = "bench-api-key-0123456789abcdef";
    private const string SigningKeyId = "bench";
    private const string SigningSecret = "bench-signing-secret-0123456789abcdefghijklmnop";
    private const string Workflow = "load-five";
    private const string OutsideAgentId = "load-worker";
    private const string OutsideCapability = "outside-work";
    private const string HostedCapability = "prd";
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static async Task<int> RunAsync(Options options)
    {
        var orch = options.Int("--orch", 3);
        var gateways = options.Int("--gateways", 2);
        var agents = options.Int("--agents", 2);
        var runs = options.Int("--runs", 1000);
        var inFlight = options.Int("--in-flight", 20);
        var killEvery = TimeSpan.FromSeconds(options.Double("--kill-every", 5));
        var cluster = string.Equals(options.Value("--redis"), "cluster", StringComparison.OrdinalIgnoreCase);
        var shards = options.Int("--key-shards", cluster ? 16 : 4);
        var baselineRuns = options.Int("--baseline-runs", Math.Min(runs, 500));
        var work = Directory.CreateTempSubdirectory("replica-load-").FullName;
        Children.TrackDirectory(work);

        Console.WriteLine($"# Orchestration.Load replicas: {Machine.Describe()}");
        Console.WriteLine(string.Create(Inv, $"# Redis {(cluster ? "cluster (3 masters)" : "single")}, Orchestration:KeyShards {shards}; {agents} outside agent processes; {inFlight} runs in flight; output in {work}"));
        var results = new List<PassResult>();
        if (baselineRuns > 0)
        {
            results.Add(await PassAsync("baseline", 1, 1, agents, baselineRuns, inFlight, null, cluster, shards, Path.Combine(work, "baseline")));
        }

        results.Add(await PassAsync("replicas", orch, gateways, agents, runs, inFlight, killEvery, cluster, shards, Path.Combine(work, "replicas")));
        Report(results, cluster, shards, agents, inFlight);
        return results.All(r => r.Finished == r.Runs && r.ExecutedTwice == 0 && r.Lost == 0) ? 0 : 2;
    }

    private static async Task<PassResult> PassAsync(string name, int orchCount, int gatewayCount, int agentCount, int runs, int inFlight,
        TimeSpan? killEvery, bool cluster, int shards, string directory)
    {
        Directory.CreateDirectory(directory);
        Console.WriteLine(string.Create(Inv, $"# pass {name}: {orchCount} orchestration-api, {gatewayCount} ai-gateway, {runs} runs{(killEvery is { } k ? $", a replica killed every {k.TotalSeconds:0.#} s" : ", no kills")}"));
        await using ITestRedis redis = cluster ? await RedisCluster.StartAsync() : await RedisServer.StartAsync();
        var common = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["ConnectionStrings:redis"] = redis.ConnectionString,
            ["Auth:ApiKeys:client"] = ApiKey,
            ["Auth:Roles:client"] = "client,admin",
            ["Bus:Signing:Keys:0:Id"] = SigningKeyId,
            ["Bus:Signing:Keys:0:Secret"] = SigningSecret,
        };

        var orchPorts = Enumerable.Range(0, orchCount).Select(_ => LocalProcesses.FreePort()).ToArray();
        var orchSettings = new Dictionary<string, string?>(common, StringComparer.OrdinalIgnoreCase)
        {
            ["Orchestration:KeyShards"] = shards.ToString(Inv),
        };
        var gatewaySettings = new Dictionary<string, string?>(common, StringComparer.OrdinalIgnoreCase)
        {
            ["HostedAgents:ApiKey"] = ApiKey,
            ["HostedAgents:OrchestrationUrl"] = $"http://127.0.0.1:{orchPorts[0]}/",
            ["HostedAgents:HeartbeatTtlSeconds"] = "300", // outlives a restart of the replica it registers with
            ["Gemini:ApiKey"] = null,
            ["OpenAI:ApiKey"] = null,
            ["Logging:LogLevel:Agents.Hosting"] = "Debug", // one line per task taken: the hosted agents' executions (their loop is Agents.Hosting)
        };
        foreach (var model in new[] { "gemini-3.1-pro-preview", "gemini-3.5-flash", "gemini-3.1-flash-lite" })
        {
            gatewaySettings[$"Gateway:Models:{model}:Qps"] = "100000";
            gatewaySettings[$"Gateway:Models:{model}:Burst"] = "1000000";
            gatewaySettings[$"Gateway:Models:{model}:DailyLimit"] = "1000000000000";
        }

        var replicas = new List<Replica>();
        try
        {
            foreach (var (port, i) in orchPorts.Select((p, i) => (p, i)))
            {
                replicas.Add(await Replica.StartAsync($"orchestration-api {i}", "Orchestration.Api", orchSettings, port, null));
            }

            for (var i = 0; i < gatewayCount; i++)
            {
                replicas.Add(await Replica.StartAsync($"ai-gateway {i}", "Ai.Gateway", gatewaySettings, LocalProcesses.FreePort(), Path.Combine(directory, $"gateway-{i}.log")));
            }

            var orchestrators = replicas.Where(r => r.Assembly == "Orchestration.Api").ToList();
            using var ledger = new OutsideAgentLedger();
            var outsideAgents = new List<OutsideAgentProcess>();
            var agentAssembly = ReleaseBuild.FindAssembly("OutsideAgent");
            for (var i = 0; i < agentCount; i++)
            {
                outsideAgents.Add(await OutsideAgentProcess.StartAsync(new Dictionary<string, string?>(common, StringComparer.OrdinalIgnoreCase)
                {
                    ["Bus:ServiceName"] = $"outside.{OutsideAgentId}",
                    ["Clients:orchestration-api:BaseAddress"] = $"http://127.0.0.1:{orchPorts[Math.Min(1, orchCount - 1)]}/",
                    ["Clients:orchestration-api:ApiKey"] = ApiKey,
                    ["Agent:Id"] = OutsideAgentId,
                    ["Agent:Capabilities:0"] = OutsideCapability,
                    ["Agent:WorkTime"] = "00:00:00.020",
                    ["Agent:HeartbeatTtlSeconds"] = "300",
                }, ledger, agentAssembly));
            }

            try
            {
                var clients = orchestrators.Select(o => Client(o.BaseAddress, inFlight)).ToList();
                await WaitForAgentsAsync(clients[0], [OutsideCapability, HostedCapability]);
                await PutWorkflowAsync(clients[0]);

                using var done = new CancellationTokenSource();
                var killer = killEvery is { } every ? Task.Run(() => KillInTurnAsync(replicas, every, done.Token)) : Task.FromResult(new List<string>());
                var clock = Stopwatch.StartNew();
                var runIds = await StartRunsAsync(clients, name, runs, inFlight);
                var loadTime = clock.Elapsed;
                await done.CancelAsync();
                var kills = await killer;

                // Every run's final view, through any replica that answers.
                var views = new ConcurrentBag<JsonElement>();
                await Parallel.ForEachAsync(runIds, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (runId, ct) =>
                    views.Add(await WithAnyReplicaAsync(clients, c => c.GetFromJsonAsync<JsonElement>($"api/runs/{runId}", ct))));
                var dead = await DeadLettersAsync(redis.ConnectionString);
                foreach (var client in clients)
                {
                    client.Dispose();
                }

                return Measure(name, orchCount, gatewayCount, runs, [.. views], ledger.Read(), replicas.SelectMany(r => r.OutputFiles).Distinct().ToList(), dead, loadTime, kills, replicas.Count);
            }
            finally
            {
                foreach (var agent in outsideAgents)
                {
                    await agent.DisposeAsync();
                }
            }
        }
        finally
        {
            foreach (var replica in replicas)
            {
                await replica.DisposeAsync();
            }
        }
    }

    // Every `every`, the next replica in turn: kill -9, then the same service again at the same address.
    private static async Task<List<string>> KillInTurnAsync(List<Replica> replicas, TimeSpan every, CancellationToken stop)
    {
        var order = replicas.OrderBy(r => r.Index).ThenBy(r => r.Assembly, StringComparer.Ordinal).ToList();
        var killed = new List<string>();
        for (var turn = 0; !stop.IsCancellationRequested; turn++)
        {
            try
            {
                await Task.Delay(every, stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            var replica = order[turn % order.Count];
            var restart = Stopwatch.StartNew();
            await replica.KillAndRestartAsync();
            killed.Add(replica.Name);
            Console.WriteLine(string.Create(Inv, $"  killed -9 and restarted {replica.Name} (ready again after {restart.Elapsed.TotalSeconds:F1} s)"));
        }

        return killed;
    }

    private static async Task<List<string>> StartRunsAsync(List<HttpClient> clients, string pass, int runs, int inFlight)
    {
        var next = -1;
        var runIds = new ConcurrentBag<string>();
        var progress = 0;
        await Task.WhenAll(Enumerable.Range(0, inFlight).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < runs)
            {
                runIds.Add(await RunToEndAsync(clients, i, $"{pass}-{i.ToString(Inv)}"));
                if (Interlocked.Increment(ref progress) % 100 == 0)
                {
                    Console.WriteLine(string.Create(Inv, $"  {progress} runs ended"));
                }
            }
        })));
        return [.. runIds];
    }

    // Starts run i (or finds it again by its idempotency key) and waits until it ends, moving to the next replica when
    // one does not answer (killed) or the wait ends first.
    private static async Task<string> RunToEndAsync(List<HttpClient> clients, int i, string key)
    {
        var deadline = Stopwatch.StartNew();
        var failures = new List<string>();
        for (var attempt = 0; ; attempt++)
        {
            var client = clients[(i + attempt) % clients.Count];
            try
            {
                using var response = await client.PostAsJsonAsync($"api/workflows/{Workflow}/runs?waitMs=30000", new { input = new { i }, idempotencyKey = key });
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    var run = await response.Content.ReadFromJsonAsync<JsonElement>();
                    return run.GetProperty("runId").GetString()!;
                }

                failures.Add($"{(int)response.StatusCode}");
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                failures.Add(ex.GetType().Name);
            }

            if (deadline.Elapsed > TimeSpan.FromMinutes(10))
            {
                throw new InvalidOperationException($"Run {key} did not end within 10 minutes ({string.Join(", ", failures.TakeLast(10))}).");
            }

            if (failures.Count > 0 && failures[^1] != "202")
            {
                await Task.Delay(200);
            }
        }
    }

    private static async Task<T> WithAnyReplicaAsync<T>(List<HttpClient> clients, Func<HttpClient, Task<T?>> call)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await call(clients[attempt % clients.Count]) ?? throw new InvalidOperationException("Empty answer.");
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && attempt < 20)
            {
                await Task.Delay(200);
            }
        }
    }

    private static async Task<long> DeadLettersAsync(string connectionString)
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(connectionString);
        long total = 0;
        foreach (var server in redis.GetServers().Where(s => !s.IsReplica))
        {
            await foreach (var key in server.KeysAsync(pattern: "bus:*:dlq"))
            {
                total += await redis.GetDatabase().StreamLengthAsync(key);
            }
        }

        return total;
    }

    [GeneratedRegex(@"took a Step task: step (?<step>\S+) of run (?<run>\S+), attempt (?<attempt>\d+)\.")]
    private static partial Regex HostedTaskLine();

    private static PassResult Measure(string name, int orch, int gateways, int runs, List<JsonElement> views, IReadOnlyList<LedgerEntry> ledger,
        List<string> gatewayLogs, long deadLetters, TimeSpan loadTime, List<string> kills, int replicaCount)
    {
        // Executions of each (run, step, attempt): the outside agents' ledger, the hosted agents' log lines.
        var executions = new Dictionary<string, int>(StringComparer.Ordinal);
        var expired = ledger.Where(e => e.What == "expired").Select(e => e.Key).ToHashSet(StringComparer.Ordinal);
        foreach (var entry in ledger.Where(e => e.What == "received"))
        {
            executions[entry.Key] = executions.GetValueOrDefault(entry.Key) + 1;
        }

        foreach (var key in expired)
        {
            executions[key] = executions.GetValueOrDefault(key) - 1; // received after its deadline: not executed
        }

        foreach (var log in gatewayLogs.Where(File.Exists))
        {
            using var stream = new FileStream(log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            while (reader.ReadLine() is { } line)
            {
                if (HostedTaskLine().Match(line) is { Success: true } m)
                {
                    var key = $"{m.Groups["run"].Value}/{m.Groups["step"].Value}#{m.Groups["attempt"].Value}";
                    executions[key] = executions.GetValueOrDefault(key) + 1;
                }
            }
        }

        var latencies = new List<double>();
        long attempts = 0, retried = 0, unexecuted = 0;
        DateTimeOffset first = DateTimeOffset.MaxValue, last = DateTimeOffset.MinValue;
        var succeeded = 0;
        foreach (var run in views)
        {
            if (run.GetProperty("status").GetString() == "SUCCEEDED")
            {
                succeeded++;
            }

            var started = run.GetProperty("startedAt").GetDateTimeOffset();
            if (run.TryGetProperty("endedAt", out var endedAt) && endedAt.ValueKind == JsonValueKind.String)
            {
                var ended = endedAt.GetDateTimeOffset();
                latencies.Add((ended - started).TotalMilliseconds);
                first = started < first ? started : first;
                last = ended > last ? ended : last;
            }

            var runId = run.GetProperty("runId").GetString();
            foreach (var step in run.GetProperty("steps").EnumerateArray())
            {
                var n = step.GetProperty("attempts").GetInt32();
                attempts += n;
                retried += Math.Max(0, n - 1);
                for (var a = 1; a <= n; a++)
                {
                    if (executions.GetValueOrDefault($"{runId}/{step.GetProperty("id").GetString()}#{a.ToString(Inv)}") <= 0)
                    {
                        unexecuted++;
                    }
                }
            }
        }

        var twice = executions.Count(e => e.Value > 1);
        var window = (last - first).TotalSeconds;
        return new PassResult(name, orch, gateways, runs, succeeded, attempts, twice, unexecuted, retried, deadLetters,
            Stats.Summarize(latencies), runs / Math.Max(window, 0.001), loadTime, kills, replicaCount, Machine.LoadAverage());
    }

    private static void Report(List<PassResult> results, bool cluster, int shards, int agents, int inFlight)
    {
        Console.WriteLine();
        Console.WriteLine(string.Create(Inv, $"Finished {TimeProvider.System.GetUtcNow():yyyy-MM-dd HH:mm} UTC; Redis {(cluster ? "cluster of 3 masters" : "single server")}, KeyShards {shards}; " +
                                             $"5-step workflow (4 outside-agent steps on {agents} processes, 1 hosted-agent step), {inFlight} runs in flight."));
        Console.WriteLine();
        Console.WriteLine("| pass | orchestration-api | ai-gateway | replicas killed -9 | runs finished | step attempts | executed twice | lost (unexecuted + retried + dead letters) | run p50 | run p99 | runs/s | load avg |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            var killed = r.Kills.Count == 0 ? "0" : string.Create(Inv, $"{r.Kills.Count} ({r.Kills.Distinct(StringComparer.Ordinal).Count()} of {r.ReplicaCount} distinct)");
            Console.WriteLine(string.Create(Inv, $"| {r.Name} | {r.Orch} | {r.Gateways} | {killed} | {r.Finished} / {r.Runs} | {r.Attempts} | {r.ExecutedTwice} | " +
                                                 $"{r.Lost} ({r.Unexecuted} + {r.Retried} + {r.DeadLetters}) | {r.Latency.P50:F0} ms | {r.Latency.P99:F0} ms | {r.RunsPerSecond:F1} | {r.Load:F1} |"));
        }

        if (results.Count == 2)
        {
            Console.WriteLine();
            Console.WriteLine(string.Create(Inv, $"Throughput with replicas and kills ÷ one replica of each: {results[1].RunsPerSecond / results[0].RunsPerSecond:F2}."));
        }
    }

    private static HttpClient Client(Uri baseAddress, int connections)
    {
        var client = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            MaxConnectionsPerServer = Math.Max(connections * 2, 16),
            PooledConnectionLifetime = TimeSpan.FromSeconds(30),
            ConnectTimeout = TimeSpan.FromSeconds(5),
        })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(45),
        };
        client.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);
        return client;
    }

    private static async Task WaitForAgentsAsync(HttpClient api, string[] capabilities)
    {
        var clock = Stopwatch.StartNew();
        foreach (var capability in capabilities)
        {
            while (true)
            {
                using var response = await api.GetAsync($"api/agents?capability={capability}&status=active");
                if (response.IsSuccessStatusCode && (await response.Content.ReadFromJsonAsync<JsonElement>()).GetArrayLength() > 0)
                {
                    break;
                }

                if (clock.Elapsed > TimeSpan.FromSeconds(90))
                {
                    throw new InvalidOperationException($"No active agent with capability '{capability}' registered within 90 s.");
                }

                await Task.Delay(200);
            }
        }
    }

    private static async Task PutWorkflowAsync(HttpClient api)
    {
        object Step(string id, string capability) => new
        {
            id,
            capability,
            input = new { task = $"Step {id} of run input {{{{input.i}}}}." },
            onFail = "RETRY",
            maxAttempts = 3,
            timeoutMs = 60_000,
            backoff = new { type = "constant", baseMs = 500, maxMs = 500, jitter = false },
        };
        using var response = await api.PutAsJsonAsync($"api/workflows/{Workflow}", new
        {
            description = "Replica load: four outside-agent steps and one hosted-agent step.",
            timeoutMs = 600_000,
            steps = new[] { Step("s1", OutsideCapability), Step("s2", OutsideCapability), Step("s3", HostedCapability), Step("s4", OutsideCapability), Step("s5", OutsideCapability) },
        });
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"PUT workflow failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>One replica slot: a service process at a fixed address, replaced by a new process when killed.</summary>
    private sealed class Replica : IAsyncDisposable
    {
        private readonly IDictionary<string, string?> _settings;
        private readonly string? _outputFile;
        private ServiceProcess _process;

        private Replica(string name, string assembly, IDictionary<string, string?> settings, string? outputFile, ServiceProcess process)
        {
            Name = name;
            Assembly = assembly;
            _settings = settings;
            _outputFile = outputFile;
            _process = process;
        }

        public string Name { get; }

        public string Assembly { get; }

        public int Index => int.Parse(Name[(Name.LastIndexOf(' ') + 1)..], Inv);

        public Uri BaseAddress => _process.BaseAddress;

        public IEnumerable<string> OutputFiles => _outputFile is null ? [] : [_outputFile];

        public static async Task<Replica> StartAsync(string name, string assembly, IDictionary<string, string?> settings, int port, string? outputFile) =>
            new(name, assembly, settings, outputFile, await ReleaseBuild.StartServiceAsync(assembly, settings, TimeSpan.FromMinutes(3), port, outputFile));

        public async Task KillAndRestartAsync()
        {
            var port = _process.Port;
            await _process.DisposeAsync(); // SIGKILL, whole process tree
            _process = await ReleaseBuild.StartServiceAsync(Assembly, _settings, TimeSpan.FromMinutes(3), port, _outputFile);
        }

        public ValueTask DisposeAsync() => _process.DisposeAsync();
    }
}

internal sealed record PassResult(string Name, int Orch, int Gateways, int Runs, int Finished, long Attempts, int ExecutedTwice, long Unexecuted,
    long Retried, long DeadLetters, Percentiles Latency, double RunsPerSecond, TimeSpan LoadTime, List<string> Kills, int ReplicaCount, double Load)
{
    public long Lost => Unexecuted + Retried + DeadLetters;
}
