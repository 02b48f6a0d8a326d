// Orchestration.Api load benchmark (issue 5): workflow latency through bus + gateway, and step throughput.
//
//   dotnet run -c Release --project bench/Orchestration.Load -- [--runs 5] [--workflows 200] [--bus-requests 500]
//       [--seconds 15] [--concurrency 100] [--steps 5] [--only latency|throughput|fanout] [--hold <s>] [--service-env KEY=VALUE]...
//   ... -- --only replicas [--orch 3] [--gateways 2] [--agents 2] [--runs 1000] [--kill-every 5] [--redis single|cluster]
//       many replicas with rolling kill -9 restarts: see ReplicaLoad.cs (there --runs is the number of runs).
//
// Needs only redis-server on PATH. It starts, each as its own process on free loopback ports: a redis-server (no
// persistence), orchestration-api and ai-gateway from their Release builds (artifacts/bin/<service>/release, built
// by 'dotnet run -c Release' through the project references). ai-gateway has no model key, so its hosted agents
// answer with the offline provider; they register with orchestration-api (HostedAgents:ApiKey ↔
// Auth:ApiKeys:gateway); both services share the bus signing key. The catalog models get Qps/Burst/DailyLimit so
// large that the shared limiter always grants (it still runs). Everything is killed at the end, on an error and
// on Ctrl+C / SIGTERM.
//
// 1. Latency: a 3-step workflow on the hosted agents (request-analysis → prd → architecture, the first three
//    steps of the shipped software-team workflow), --workflows runs started one after the other with
//    POST /api/workflows/{id}/runs?waitMs=5000; client-side latency, and a breakdown from the run's own
//    timestamps. In the same run, the bus's raw request/reply round trip (RedisMessageBus.RequestAsync to a
//    responder in this process that replies at once), sequential, --bus-requests of them. Alternating order. Before
//    the warm-up, the first run after the agents registered is timed on its own ("first run (cold)").
// 2. Throughput: a no-op agent in this process (a RedisMessageBus subscribed to agent.bench-noop, 256 handlers,
//    replying ok at once) registered through POST /api/agents; a --steps workflow on it; --concurrency runs kept
//    in flight (each worker starts the next run when its run ends, ?waitMs=60000) for --seconds. Step transitions
//    per second = the agent's replies per second. In the same run, the bus's raw request/reply rate with the same
//    number in flight. Peak working set and GC heap of orchestration-api during the load.
// --hold keeps the services up for that many seconds after measuring (to attach dotnet-trace or dotnet-gcdump);
// --service-env passes an environment variable to both services (e.g. DOTNET_gcServer=0 to compare GC modes).
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Bench;
using TestSupport;

Children.Install();
var options = new Options(args);
var runs = options.Int("--runs", 5);
var workflows = options.Int("--workflows", 200);
var busRequests = options.Int("--bus-requests", 500);
var seconds = options.Int("--seconds", 15);
var concurrency = options.Int("--concurrency", 100);
var steps = options.Int("--steps", 5);
var only = options.Value("--only");

const string ApiKey = "bench-api-key-0123456789abcdef";
const string GatewayKey = "bench-gateway-key-0123456789abcdef";
const string SigningKeyId = "bench";
const string SigningSecret = "bench-signing-secret-0123456789abcdefghijklmnop";
const string LatencyWorkflow = "bench-three-steps";
const string ThroughputWorkflow = "bench-noop";
const string SingleWorkflow = "bench-single";
const string FanOutWorkflow = "bench-fanout";
var inv = CultureInfo.InvariantCulture;

try
{
    if (only == "replicas")
    {
        // Many replicas with rolling kill -9 restarts (issue 12): ReplicaLoad.cs.
        return await ReplicaLoad.RunAsync(options);
    }

    Console.WriteLine($"# Orchestration.Load: {Machine.Describe()}");
    await using var redis = await RedisServer.StartAsync();
    var common = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
    {
        ["ConnectionStrings:redis"] = redis.ConnectionString,
        ["Auth:ApiKeys:client"] = ApiKey,
        ["Bus:Signing:Keys:0:Id"] = SigningKeyId,
        ["Bus:Signing:Keys:0:Secret"] = SigningSecret,
    };
    foreach (var (key, value) in options.ServiceEnvironment())
    {
        common[key] = value;
    }

    await using var orchestration = await ReleaseBuild.StartServiceAsync("Orchestration.Api", new Dictionary<string, string?>(common, StringComparer.OrdinalIgnoreCase)
    {
        ["Auth:ApiKeys:gateway"] = GatewayKey,
        // As the AppHost sets them: the bench registers its no-op agent with the client key, the gateway its hosted agents.
        ["Auth:Roles:client"] = "client,admin",
        ["Auth:Roles:gateway"] = "agent",
    });
    var gatewaySettings = new Dictionary<string, string?>(common, StringComparer.OrdinalIgnoreCase)
    {
        ["HostedAgents:ApiKey"] = GatewayKey,
        ["HostedAgents:OrchestrationUrl"] = orchestration.BaseAddress.ToString(),
        ["Gemini:ApiKey"] = null, // offline provider for every model
        ["OpenAI:ApiKey"] = null,
    };
    foreach (var model in new[] { "gemini-3.1-pro-preview", "gemini-3.5-flash", "gemini-3.1-flash-lite" })
    {
        gatewaySettings[$"Gateway:Models:{model}:Qps"] = "100000";
        gatewaySettings[$"Gateway:Models:{model}:Burst"] = "1000000";
        gatewaySettings[$"Gateway:Models:{model}:DailyLimit"] = "1000000000000";
    }

    await using var gateway = await ReleaseBuild.StartServiceAsync("Ai.Gateway", gatewaySettings);
    await using var agents = await BusAgents.StartAsync(redis.ConnectionString, SigningKeyId, SigningSecret);
    await using var apiMonitor = new ProcessMonitor(orchestration.ProcessId);
    await using var gatewayMonitor = new ProcessMonitor(gateway.ProcessId);
    await using var redisMonitor = new ProcessMonitor(redis.ProcessId, gcCounters: false);
    using var api = Client(orchestration.BaseAddress, ApiKey, concurrency);
    Console.WriteLine($"# redis-server port {redis.Port}; orchestration-api pid {orchestration.ProcessId} at {orchestration.BaseAddress}; ai-gateway pid {gateway.ProcessId} at {gateway.BaseAddress}");

    if (only is null or "latency")
    {
        // Only the latency pass uses the gateway's hosted agents (the others use the bench's own no-op agent).
        await WaitForAgentsAsync(api, ["request-analysis", "prd", "architecture"]);
    }

    await PutAsync(api, LatencyWorkflow, new
    {
        description = "Benchmark: the first three steps of software-team on the gateway's hosted agents.",
        timeoutMs = 60_000,
        steps = new object[]
        {
            new { id = "analysis", capability = "request-analysis", input = new { task = "Analyse this request: goals, users, constraints, open questions, and a short plan.", request = "{{input.request}}" } },
            new { id = "prd", capability = "prd", input = new { task = "Write the product requirements document.", request = "{{input.request}}", analysis = "{{steps.analysis.output}}" } },
            new { id = "architecture", capability = "architecture", input = new { task = "Design the architecture that satisfies the PRD.", prd = "{{steps.prd.output}}" } },
        },
    });
    using (var register = await api.PostAsJsonAsync("api/agents", new { id = BusAgents.NoOpAgentId, name = "Benchmark no-op agent", capabilities = new[] { "noop" }, topic = $"agent.{BusAgents.NoOpAgentId}", heartbeatTtlSeconds = 3600 }))
    {
        await EnsureAsync(register, "registering the no-op agent");
    }

    await PutAsync(api, ThroughputWorkflow, new
    {
        description = "Benchmark: no-op steps.",
        timeoutMs = 120_000,
        steps = Enumerable.Range(1, steps).Select(i => new { id = $"step-{i}", agent = BusAgents.NoOpAgentId }).ToArray(),
    });
    await PutAsync(api, SingleWorkflow, new { description = "Benchmark: one no-op step.", timeoutMs = 60_000, steps = new[] { new { id = "only", agent = BusAgents.NoOpAgentId } } });
    await PutAsync(api, FanOutWorkflow, new
    {
        description = "Benchmark: ten no-op steps at once.",
        timeoutMs = 60_000,
        steps = Enumerable.Range(1, 10).Select(i => new { id = $"branch-{i}", agent = BusAgents.NoOpAgentId, dependsOn = Array.Empty<string>() }).ToArray(),
    });
    var input = JsonSerializer.SerializeToElement(new { request = "A to-do list app for a small team: tasks, owners, due dates, reminders." });
    var apiIdle = apiMonitor.Read();

    var latencyRows = new List<LatencyRow>();
    if (only is null or "latency")
    {
        Console.WriteLine($"# latency: {workflows} sequential 3-step runs and {busRequests} sequential bus round trips per pass, {runs} runs");
        // The first run after the agents registered (cold: JIT, first connections), as the AppHost's e2e test meets it.
        var cold = await WorkflowLatencyAsync(api, LatencyWorkflow, input, 1, 3);
        Console.WriteLine(string.Create(inv, $"first run (cold): {cold.Client.P50:F1} ms; step {cold.StepMs:F2} ms (agent {cold.AgentMs:F2}); load {Machine.LoadAverage():F2}"));
        // Warm-up: JIT, connections, consumer groups, the agents' directory cache.
        await BusLatencyAsync(agents, Math.Max(busRequests / 5, 50));
        await WorkflowLatencyAsync(api, LatencyWorkflow, input, Math.Max(workflows / 5, 20), 3);
        for (var run = 1; run <= runs; run++)
        {
            Percentiles? bus = null;
            WorkflowLatency? workflow = null;
            foreach (var target in run % 2 == 1 ? new[] { "bus", "workflow" } : ["workflow", "bus"])
            {
                if (target == "bus")
                {
                    bus = await BusLatencyAsync(agents, busRequests);
                }
                else
                {
                    gatewayMonitor.Reset();
                    apiMonitor.Reset();
                    workflow = await WorkflowLatencyAsync(api, LatencyWorkflow, input, workflows, 3);
                    workflow = workflow with
                    {
                        ApiCpuMsPerRun = apiMonitor.Read().CpuTime.TotalMilliseconds / workflows,
                        GatewayCpuMsPerRun = gatewayMonitor.Read().CpuTime.TotalMilliseconds / workflows,
                    };
                }
            }

            var row = new LatencyRow(bus!, workflow!, Machine.LoadAverage());
            latencyRows.Add(row);
            Console.WriteLine(string.Create(inv, $"run {run}: workflow {workflow!.Client}; bus round trip {bus}; step {workflow.StepMs:F2} ms (agent {workflow.AgentMs:F2}); " +
                                                 $"start {workflow.StartMs:F2} ms, end {workflow.EndMs:F2} ms; CPU per run api {workflow.ApiCpuMsPerRun:F2} ms, gateway {workflow.GatewayCpuMsPerRun:F2} ms; load {row.Load:F2}"));
        }
    }

    var fanOutRows = new List<(Percentiles Single, Percentiles FanOut, double SingleCommits, double FanOutCommits)>();
    if (only is null or "fanout")
    {
        Console.WriteLine($"# fan-out: {workflows} sequential runs of a 1-step and of a 10-way parallel no-op workflow per pass, {runs} runs");
        await WorkflowLatencyAsync(api, SingleWorkflow, input, 20, 1);
        await WorkflowLatencyAsync(api, FanOutWorkflow, input, 20, 10);
        for (var run = 1; run <= runs; run++)
        {
            WorkflowLatency? single = null, fanOut = null;
            foreach (var target in run % 2 == 1 ? new[] { "single", "fanout" } : ["fanout", "single"])
            {
                if (target == "single")
                {
                    single = await WorkflowLatencyAsync(api, SingleWorkflow, input, workflows, 1, agents);
                }
                else
                {
                    fanOut = await WorkflowLatencyAsync(api, FanOutWorkflow, input, workflows, 10, agents);
                }
            }

            fanOutRows.Add((single!.Client, fanOut!.Client, single.Commits, fanOut.Commits));
            Console.WriteLine(string.Create(inv, $"run {run}: 1 no-op step {single.Client} ({single.Commits:F1} commits/run); 10-way fan-out {fanOut.Client} ({fanOut.Commits:F1} commits/run); p50 ratio {fanOut.Client.P50 / single.Client.P50:F2}; load {Machine.LoadAverage():F2}"));
        }
    }

    var throughputRows = new List<ThroughputRow>();
    if (only is null or "throughput")
    {
        Console.WriteLine($"# throughput: {concurrency} in flight, {steps}-step no-op workflow, {seconds} s per pass, {runs} runs");
        await BusThroughputAsync(agents, concurrency, TimeSpan.FromSeconds(3));
        await WorkflowThroughputAsync(api, agents, ThroughputWorkflow, input, concurrency, steps, TimeSpan.FromSeconds(5));
        for (var run = 1; run <= runs; run++)
        {
            double bus = 0;
            WorkflowThroughput? workflow = null;
            ProcessSample? memory = null;
            double redisCpu = 0;
            foreach (var target in run % 2 == 1 ? new[] { "bus", "workflow" } : ["workflow", "bus"])
            {
                if (target == "bus")
                {
                    bus = await BusThroughputAsync(agents, concurrency, TimeSpan.FromSeconds(seconds));
                }
                else
                {
                    apiMonitor.Reset();
                    redisMonitor.Reset();
                    workflow = await WorkflowThroughputAsync(api, agents, ThroughputWorkflow, input, concurrency, steps, TimeSpan.FromSeconds(seconds));
                    memory = apiMonitor.Read();
                    redisCpu = redisMonitor.Read().CpuTime.TotalMicroseconds / workflow.Steps;
                }
            }

            var row = new ThroughputRow(bus, workflow!, memory!, redisCpu, Machine.LoadAverage());
            throughputRows.Add(row);
            Console.WriteLine(string.Create(inv, $"run {run}: bus {bus:F0} round trips/s; workflow {workflow!.StepsPerSecond:F0} steps/s ({workflow.RunsPerSecond:F1} runs/s, {workflow.Failed} not succeeded, {workflow.Errors} errors); " +
                                                 $"api CPU {memory!.CpuTime.TotalMicroseconds / workflow.Steps:F0} µs/step, redis {redisCpu:F0} µs/step, peak WS {Mb(memory.PeakWorkingSetBytes)} MB, GC heap {memory.PeakGcHeapMb:F0} MB; load {row.Load:F2}"));
        }
    }

    if (options.Int("--hold", 0) is > 0 and var hold)
    {
        // For profiling: attach dotnet-trace / dotnet-gcdump to the services while they are still up.
        Console.WriteLine($"# holding for {hold} s: orchestration-api pid {orchestration.ProcessId}, ai-gateway pid {gateway.ProcessId}");
        await Task.Delay(TimeSpan.FromSeconds(hold));
    }

    Report(latencyRows, throughputRows, apiIdle);
    if (fanOutRows.Count > 0)
    {
        Console.WriteLine();
        Console.WriteLine("Fan-out (client latency of one run, ms):");
        Console.WriteLine();
        Console.WriteLine("| run | 1 no-op step p50 | p99 | commits/run | 10-way fan-out p50 | p99 | commits/run | fan-out p50 ÷ single p50 |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (var i = 0; i < fanOutRows.Count; i++)
        {
            var (single, fanOut, singleCommits, fanOutCommits) = fanOutRows[i];
            Console.WriteLine(string.Create(inv, $"| {i + 1} | {single.P50:F2} | {single.P99:F2} | {singleCommits:F1} | {fanOut.P50:F2} | {fanOut.P99:F2} | {fanOutCommits:F1} | {fanOut.P50 / single.P50:F2} |"));
        }

        Console.WriteLine(string.Create(inv, $"| **median** | {Stats.Median(fanOutRows.Select(r => r.Single.P50)):F2} | | {Stats.Median(fanOutRows.Select(r => r.SingleCommits)):F1} | {Stats.Median(fanOutRows.Select(r => r.FanOut.P50)):F2} | | {Stats.Median(fanOutRows.Select(r => r.FanOutCommits)):F1} | **{Stats.Median(fanOutRows.Select(r => r.FanOut.P50 / r.Single.P50)):F2}** |"));
        Console.WriteLine("commits/run = transitions stored per run (its version), mean: a start, then one per group of results applied together.");
    }
    return 0;
}
catch (InvalidOperationException ex)
{
    // Setup problems (no redis-server, no Release build, a service that does not start): the message says what to do.
    Console.Error.WriteLine($"error: {ex.Message}");
    return 1;
}
finally
{
    Children.KillAll();
}

void Report(List<LatencyRow> latency, List<ThroughputRow> throughput, ProcessSample apiIdle)
{
    var text = new StringBuilder();
    text.AppendLine();
    text.AppendLine(inv, $"Finished {TimeProvider.System.GetUtcNow():yyyy-MM-dd HH:mm} UTC, load average {Machine.LoadAverages()}.");
    if (latency.Count > 0)
    {
        text.AppendLine();
        text.AppendLine(inv, $"Latency: {workflows} sequential 3-step runs (client side, POST …/runs?waitMs=5000) vs {busRequests} sequential raw bus round trips, per run (ms):");
        text.AppendLine();
        text.AppendLine("| run | workflow p50 | p90 | p99 | max | bus RTT p50 | p90 | p99 | workflow p50 / bus p50 | step (median) | of it agent | start | end | API CPU ms/run | gateway CPU ms/run | load avg |");
        text.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (var i = 0; i < latency.Count; i++)
        {
            var (b, w, l) = (latency[i].Bus, latency[i].Workflow, latency[i].Load);
            text.AppendLine(inv, $"| {i + 1} | {w.Client.P50:F2} | {w.Client.P90:F2} | {w.Client.P99:F2} | {w.Client.Max:F1} | {b.P50:F2} | {b.P90:F2} | {b.P99:F2} | {w.Client.P50 / b.P50:F1}× | " +
                                 $"{w.StepMs:F2} | {w.AgentMs:F2} | {w.StartMs:F2} | {w.EndMs:F2} | {w.ApiCpuMsPerRun:F2} | {w.GatewayCpuMsPerRun:F2} | {l:F2} |");
        }

        var wf = Percentiles.MedianOf(latency.Select(x => x.Workflow.Client).ToList());
        var bus = Percentiles.MedianOf(latency.Select(x => x.Bus).ToList());
        text.AppendLine(inv, $"| **median** | **{wf.P50:F2}** | {wf.P90:F2} | **{wf.P99:F2}** | {wf.Max:F1} | {bus.P50:F2} | {bus.P90:F2} | {bus.P99:F2} | " +
                             $"{Stats.Median(latency.Select(x => x.Workflow.Client.P50 / x.Bus.P50)):F1}× | {Stats.Median(latency.Select(x => x.Workflow.StepMs)):F2} | {Stats.Median(latency.Select(x => x.Workflow.AgentMs)):F2} | " +
                             $"{Stats.Median(latency.Select(x => x.Workflow.StartMs)):F2} | {Stats.Median(latency.Select(x => x.Workflow.EndMs)):F2} | {Stats.Median(latency.Select(x => x.Workflow.ApiCpuMsPerRun)):F2} | " +
                             $"{Stats.Median(latency.Select(x => x.Workflow.GatewayCpuMsPerRun)):F2} | {Stats.Median(latency.Select(x => x.Load)):F2} |");
        text.AppendLine();
        text.AppendLine(inv, $"Per hop: a 3-step run is 3 task/result round trips; median step {Stats.Median(latency.Select(x => x.Workflow.StepMs)):F2} ms = " +
                             $"{Stats.Median(latency.Select(x => x.Workflow.StepMs / x.Bus.P50)):F1}× the raw bus round trip; 3 × bus p50 = {3 * bus.P50:F2} ms of the workflow's {wf.P50:F2} ms p50. " +
                             $"step = from the commit that dispatches a step to the transition that applies its result (run timestamps); agent = the hosted agent's own time (result metadata); " +
                             $"start = client send → run started; end = run ended → response received.");
    }

    if (throughput.Count > 0)
    {
        text.AppendLine();
        text.AppendLine(inv, $"Throughput: {concurrency} runs in flight, {steps}-step no-op workflow, {seconds} s per pass; raw bus round trips with {concurrency} in flight in the same run:");
        text.AppendLine();
        text.AppendLine("| run | step transitions/s | runs/s | bus round trips/s | steps / bus | API CPU µs/step | redis CPU µs/step | API peak working set | API peak GC heap | load avg |");
        text.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (var i = 0; i < throughput.Count; i++)
        {
            var r = throughput[i];
            text.AppendLine(inv, $"| {i + 1} | {r.Workflow.StepsPerSecond:F0} | {r.Workflow.RunsPerSecond:F1} | {r.Bus:F0} | {r.Workflow.StepsPerSecond / r.Bus:F2} | " +
                                 $"{r.Memory.CpuTime.TotalMicroseconds / r.Workflow.Steps:F0} | {r.RedisCpuUs:F0} | {Mb(r.Memory.PeakWorkingSetBytes)} MB | {r.Memory.PeakGcHeapMb:F0} MB | {r.Load:F2} |");
        }

        var stepsPerSecond = Stats.Median(throughput.Select(x => x.Workflow.StepsPerSecond));
        var busRate = Stats.Median(throughput.Select(x => x.Bus));
        text.AppendLine(inv, $"| **median** | **{stepsPerSecond:F0}** | {Stats.Median(throughput.Select(x => x.Workflow.RunsPerSecond)):F1} | {busRate:F0} | " +
                             $"{Stats.Median(throughput.Select(x => x.Workflow.StepsPerSecond / x.Bus)):F2} (of the medians: {stepsPerSecond / busRate:F2}) | " +
                             $"{Stats.Median(throughput.Select(x => x.Memory.CpuTime.TotalMicroseconds / x.Workflow.Steps)):F0} | {Stats.Median(throughput.Select(x => x.RedisCpuUs)):F0} | " +
                             $"{Mb((long)Stats.Median(throughput.Select(x => (double)x.Memory.PeakWorkingSetBytes)))} MB (max {Mb(throughput.Max(x => x.Memory.PeakWorkingSetBytes))} MB) | " +
                             $"{Stats.Median(throughput.Select(x => x.Memory.PeakGcHeapMb)):F0} MB (max {throughput.Max(x => x.Memory.PeakGcHeapMb):F0} MB) | {Stats.Median(throughput.Select(x => x.Load)):F2} |");
        text.AppendLine();
        text.AppendLine(inv, $"Runs that did not succeed: {throughput.Sum(x => x.Workflow.Failed)}; request errors: {throughput.Sum(x => x.Workflow.Errors)}. " +
                             $"orchestration-api working set when idle after start-up: {Mb(apiIdle.PeakWorkingSetBytes)} MB.");
    }

    Console.Write(text.ToString());
}

static string Mb(long bytes) => (bytes / (1024.0 * 1024.0)).ToString("F0", CultureInfo.InvariantCulture);

static HttpClient Client(Uri baseAddress, string apiKey, int connections)
{
    var client = new HttpClient(new SocketsHttpHandler
    {
        UseProxy = false,
        MaxConnectionsPerServer = Math.Max(connections * 2, 16),
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
    })
    {
        BaseAddress = baseAddress,
        Timeout = TimeSpan.FromMinutes(2),
    };
    client.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
    return client;
}

static async Task EnsureAsync(HttpResponseMessage response, string what)
{
    if (!response.IsSuccessStatusCode)
    {
        throw new InvalidOperationException($"{what} failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }
}

static async Task PutAsync(HttpClient api, string id, object workflow)
{
    using var response = await api.PutAsJsonAsync($"api/workflows/{id}", workflow);
    await EnsureAsync(response, $"PUT workflow {id}");
}

// The hosted agents register after the gateway starts (and retry until orchestration-api answers).
static async Task WaitForAgentsAsync(HttpClient api, string[] capabilities)
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

            if (clock.Elapsed > TimeSpan.FromSeconds(180))
            {
                throw new InvalidOperationException($"No active agent with capability '{capability}' registered within 180 s.");
            }

            await Task.Delay(200);
        }
    }
}

static async Task<Percentiles> BusLatencyAsync(BusAgents agents, int count)
{
    var samples = new double[count];
    for (var i = 0; i < count; i++)
    {
        var started = Stopwatch.GetTimestamp();
        await agents.RequestAsync();
        samples[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

    return Stats.Summarize(samples);
}

static async Task<double> BusThroughputAsync(BusAgents agents, int inFlight, TimeSpan duration)
{
    long completed = 0;
    var clock = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, inFlight).Select(_ => Task.Run(async () =>
    {
        long mine = 0;
        while (clock.Elapsed < duration)
        {
            await agents.RequestAsync();
            mine++;
        }

        Interlocked.Add(ref completed, mine);
    })));
    return completed / clock.Elapsed.TotalSeconds;
}

static async Task<WorkflowLatency> WorkflowLatencyAsync(HttpClient api, string workflow, JsonElement input, int count, int expectedSteps, BusAgents? commitsFrom = null)
{
    long commits = 0;
    var client = new double[count];
    var step = new List<double>();
    var agent = new List<double>();
    var start = new List<double>();
    var end = new List<double>();
    for (var i = 0; i < count; i++)
    {
        var sent = TimeProvider.System.GetUtcNow();
        var clock = Stopwatch.GetTimestamp();
        using var response = await api.PostAsJsonAsync($"api/workflows/{workflow}/runs?waitMs=5000", new { input });
        var body = await response.Content.ReadAsStringAsync();
        client[i] = Stopwatch.GetElapsedTime(clock).TotalMilliseconds;
        var received = sent + Stopwatch.GetElapsedTime(clock);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"Run {i} did not end within the wait: {(int)response.StatusCode} {body}");
        }

        using var json = JsonDocument.Parse(body);
        var run = json.RootElement;
        if (run.GetProperty("status").GetString() != "SUCCEEDED" || run.GetProperty("steps").GetArrayLength() != expectedSteps)
        {
            throw new InvalidOperationException($"Run {i} did not succeed with {expectedSteps} steps: {body}");
        }

        if (commitsFrom is not null)
        {
            commits += await commitsFrom.CommitsOfAsync(run.GetProperty("runId").GetString()!);
        }

        start.Add((run.GetProperty("startedAt").GetDateTimeOffset() - sent).TotalMilliseconds);
        end.Add((received - run.GetProperty("endedAt").GetDateTimeOffset()).TotalMilliseconds);
        foreach (var s in run.GetProperty("steps").EnumerateArray())
        {
            step.Add((s.GetProperty("endedAt").GetDateTimeOffset() - s.GetProperty("startedAt").GetDateTimeOffset()).TotalMilliseconds);
            if (s.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object && metadata.TryGetProperty("latencyMs", out var latencyMs))
            {
                agent.Add(latencyMs.GetDouble());
            }
        }
    }

    return new WorkflowLatency(Stats.Summarize(client), Stats.Median(step), agent.Count > 0 ? Stats.Median(agent) : double.NaN, Stats.Median(start), Stats.Median(end), 0, 0, (double)commits / count);
}

static async Task<WorkflowThroughput> WorkflowThroughputAsync(HttpClient api, BusAgents agents, string workflow, JsonElement input, int inFlight, int steps, TimeSpan duration)
{
    long succeeded = 0, failed = 0, errors = 0;
    var repliesBefore = agents.NoOpReplies;
    var clock = Stopwatch.StartNew();
    var workers = Enumerable.Range(0, inFlight).Select(_ => Task.Run(async () =>
    {
        while (clock.Elapsed < duration)
        {
            try
            {
                using var response = await api.PostAsJsonAsync($"api/workflows/{workflow}/runs?waitMs=60000", new { input });
                var body = await response.Content.ReadAsStringAsync();
                if (response.StatusCode == HttpStatusCode.OK && body.Contains("\"status\":\"SUCCEEDED\"", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref succeeded);
                }
                else
                {
                    if (Interlocked.Increment(ref failed) <= 3)
                    {
                        Console.Error.WriteLine($"  run not succeeded: {(int)response.StatusCode} {body[..Math.Min(body.Length, 400)]}");
                    }
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                if (Interlocked.Increment(ref errors) <= 3)
                {
                    Console.Error.WriteLine($"  request failed: {ex.Message}");
                }
            }
        }
    })).ToList();

    // The window: from the start to `duration`, counted on the agent's replies (the workers then finish their last runs).
    await Task.Delay(duration - clock.Elapsed);
    var replies = agents.NoOpReplies - repliesBefore;
    var done = Interlocked.Read(ref succeeded);
    var elapsed = clock.Elapsed;
    await Task.WhenAll(workers);
    return new WorkflowThroughput(replies / elapsed.TotalSeconds, done / elapsed.TotalSeconds, replies, failed, errors);
}

internal sealed record WorkflowLatency(Percentiles Client, double StepMs, double AgentMs, double StartMs, double EndMs, double ApiCpuMsPerRun, double GatewayCpuMsPerRun, double Commits = 0);

internal sealed record LatencyRow(Percentiles Bus, WorkflowLatency Workflow, double Load);

internal sealed record WorkflowThroughput(double StepsPerSecond, double RunsPerSecond, long Steps, long Failed, long Errors);

internal sealed record ThroughputRow(double Bus, WorkflowThroughput Workflow, ProcessSample Memory, double RedisCpuUs, double Load);
