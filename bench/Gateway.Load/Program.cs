// Ai.Gateway load benchmark (issue 4): what the gateway adds to a model call, and how much it can serve.
//
//   dotnet run -c Release --project bench/Gateway.Load -- [--runs 5] [--seconds 20] [--warmup 5] [--rps 500]
//       [--concurrency 64] [--throughput-seconds 10] [--only latency|throughput|peer|startup|cache] [--service-env KEY=VALUE]...
//
// Needs only redis-server on PATH. It starts, each as its own process and on free loopback ports: a redis-server
// (no persistence), a fake Gemini upstream (this executable with the 'fake-upstream' argument: minimal Kestrel,
// canned generateContent answer, no delay) and ai-gateway from its Release build (artifacts/bin/Ai.Gateway/release,
// built by 'dotnet run -c Release' through the project reference). Everything is killed at the end, on an error and
// on Ctrl+C / SIGTERM.
//
// 1. Latency at a fixed rate (open loop, one request due every 1/rps s, latency measured from the due time):
//    (a) POST generateContent straight to the fake upstream, (b) POST /v1/generate through the gateway, whose
//    catalog model gemini-3.5-flash points at the fake upstream (Gemini:Endpoint) with Qps/Burst/DailyLimit so
//    large that the shared Redis limiter always grants (it still runs). Each run does both, in alternating order;
//    added latency = gateway − direct per percentile, per run; the report gives medians over the runs.
// 2. Maximum throughput of the offline provider (a second gateway without a Gemini key): closed loop with
//    --concurrency workers on POST /v1/generate, against GET /alive on the same process in the same run.
// 3. Response cache (only with --only cache; issue 13): a gateway whose gemini-3.5-flash has Cache:Enabled, at the same
//    fixed rate, three passes per run in rotating order: "off" (a new prompt each request, no x-gateway-cache header),
//    "miss" (a new prompt each request with x-gateway-cache: use: lookup, upstream call, store) and "hit" (one primed
//    prompt with x-gateway-cache: use: lookup only, no upstream call). Checks before and after each pass that the
//    answers say hit / miss as expected; counts the hit pass's upstream calls (lookups slower than
//    Gateway:Policy:CacheTimeout fall through to the model by design).
// Memory: the gateway's peak working set (VmRSS sampled every 50 ms and the kernel's VmHWM) and GC heap
// (System.Runtime event counters over EventPipe) during each phase; CPU per request from /proc.
// --service-env passes an environment variable to the gateway (e.g. DOTNET_gcServer=0 to compare GC modes).
// --only peer: the peer comparison with Portkey (PeerComparison in Peer.cs); --only startup: start-up time of both
// services (Startup.cs). docs/BENCHMARKS.md has the commands and the results.
using System.Globalization;
using System.Text;
using System.Text.Json;
using Bench;
using TestSupport;

if (args.Length > 0 && args[0] == FakeUpstream.ChildArgument)
{
    return await FakeUpstream.ServeAsync(args);
}

Children.Install();
var options = new Options(args);
var runs = options.Int("--runs", 5);
var seconds = options.Int("--seconds", 20);
var warmup = options.Int("--warmup", 5);
var rps = options.Int("--rps", 500);
var concurrency = options.Int("--concurrency", 64);
var throughputSeconds = options.Int("--throughput-seconds", 10);
var only = options.Value("--only");

const string ApiKey = "bench-api-key-0123456789abcdef";
const string Model = "gemini-3.5-flash";
const string Prompt = "Say OK.";

try
{
    Console.WriteLine($"# Gateway.Load: {Machine.Describe()}");
    await using var redis = await RedisServer.StartAsync();
    var (upstreamProcess, upstream) = await FakeUpstream.StartAsync();
    Console.WriteLine($"# redis-server on port {redis.Port}, fake upstream at {upstream}");

    var common = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
    {
        ["ConnectionStrings:redis"] = redis.ConnectionString,
        ["Auth:ApiKeys:client"] = ApiKey,
        ["Bus:Signing:Keys:0:Id"] = "bench",
        ["Bus:Signing:Keys:0:Secret"] = "bench-signing-secret-0123456789abcdefghijklmnop",
        ["HostedAgents:Enabled"] = "false",
        ["OpenAI:ApiKey"] = null,
        // Far above the load: the shared limiter runs for every call but always grants.
        [$"Gateway:Models:{Model}:Qps"] = "100000",
        [$"Gateway:Models:{Model}:Burst"] = "1000000",
        [$"Gateway:Models:{Model}:DailyLimit"] = "1000000000000",
    };
    foreach (var (key, value) in options.ServiceEnvironment())
    {
        common[key] = value;
    }

    if (only == "startup")
    {
        return await StartupTime.RunAsync(options, common);
    }

    if (only == "peer")
    {
        return await PeerComparison.RunAsync(options, upstream, common, ApiKey);
    }

    var latencyRows = new List<(OpenLoopResult Direct, OpenLoopResult Gateway, ProcessSample Memory, double RedisCpuUs, double UpstreamCpuUs, double Load)>();
    ProcessSample? latencyIdle = null;
    if (only is null or "latency")
    {
        var settings = new Dictionary<string, string?>(common, StringComparer.OrdinalIgnoreCase)
        {
            ["Gemini:Endpoint"] = upstream.ToString(),
            ["Gemini:ApiKey"] = "bench-gemini-key",
        };
        await using var gateway = await ReleaseBuild.StartServiceAsync("Ai.Gateway", settings);
        await using var monitor = new ProcessMonitor(gateway.ProcessId);
        await using var redisMonitor = new ProcessMonitor(redis.ProcessId, gcCounters: false);
        await using var upstreamMonitor = new ProcessMonitor(upstreamProcess.Id, gcCounters: false);
        using var gatewayClient = Load.Client(gateway.BaseAddress);
        using var directClient = Load.Client(upstream);
        HttpRequestMessage ThroughGateway() => Generate(ApiKey, Model, Prompt);
        HttpRequestMessage Direct() => GenerateContent(Model, Prompt);

        await CheckAsync(gatewayClient, ThroughGateway, expectedModel: Model);
        await Task.Delay(1500);
        monitor.Reset();
        await Task.Delay(3000);
        latencyIdle = monitor.Read();
        Console.WriteLine($"# gateway idle: {latencyIdle.CpuTime.TotalMilliseconds / 3:F1} ms CPU per second");
        Console.WriteLine($"# latency: gateway pid {gateway.ProcessId} at {gateway.BaseAddress}, idle working set {Mb(latencyIdle.PeakWorkingSetBytes)} MB; " +
                          $"{rps} RPS for {seconds} s per pass, {runs} runs, warm-up {warmup} s per target");
        await Load.OpenLoopAsync(Direct, directClient, rps, TimeSpan.FromSeconds(warmup));
        await Load.OpenLoopAsync(ThroughGateway, gatewayClient, rps, TimeSpan.FromSeconds(warmup));

        for (var run = 1; run <= runs; run++)
        {
            OpenLoopResult? direct = null, through = null;
            ProcessSample? memory = null;
            var redisCpu = 0.0;
            var upstreamCpu = 0.0;
            // Alternate the order so a trend in the background load hits both alike.
            foreach (var target in run % 2 == 1 ? new[] { "direct", "gateway" } : ["gateway", "direct"])
            {
                if (target == "direct")
                {
                    upstreamMonitor.Reset();
                    direct = await Load.OpenLoopAsync(Direct, directClient, rps, TimeSpan.FromSeconds(seconds));
                    upstreamCpu = upstreamMonitor.Read().CpuTime.TotalMicroseconds / (rps * seconds);
                }
                else
                {
                    monitor.Reset();
                    redisMonitor.Reset();
                    through = await Load.OpenLoopAsync(ThroughGateway, gatewayClient, rps, TimeSpan.FromSeconds(seconds));
                    memory = monitor.Read();
                    redisCpu = redisMonitor.Read().CpuTime.TotalMicroseconds / (rps * seconds);
                }
            }

            var load = Machine.LoadAverage();
            latencyRows.Add((direct!, through!, memory!, redisCpu, upstreamCpu, load));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"run {run}: direct {direct!.Latency}; gateway {through!.Latency}; added p50 {through.Latency.P50 - direct.Latency.P50:F2} ms, p99 {through.Latency.P99 - direct.Latency.P99:F2} ms; " +
                $"send lateness p99 {direct.SendLateness.P99:F2}/{through.SendLateness.P99:F2} ms; gateway CPU {memory!.CpuTime.TotalMicroseconds / (rps * seconds):F0} µs/req, " +
                $"redis CPU {redisCpu:F0} µs/req, fake upstream CPU (direct pass) {upstreamCpu:F0} µs/req, peak WS {Mb(memory.PeakWorkingSetBytes)} MB, GC heap {memory.PeakGcHeapMb:F0} MB; load {load:F2}"));
        }
    }

    var throughputRows = new List<(ClosedLoopResult Alive, ClosedLoopResult Generate, ProcessSample Memory, double Load)>();
    ProcessSample? throughputIdle = null;
    if (only is null or "throughput")
    {
        var settings = new Dictionary<string, string?>(common, StringComparer.OrdinalIgnoreCase)
        {
            ["Gemini:ApiKey"] = null, // no key: every catalog model is served by the offline provider
        };
        await using var gateway = await ReleaseBuild.StartServiceAsync("Ai.Gateway", settings);
        await using var monitor = new ProcessMonitor(gateway.ProcessId);
        using var client = Load.Client(gateway.BaseAddress);
        HttpRequestMessage Offline() => Generate(ApiKey, Model, Prompt);
        static HttpRequestMessage Alive() => new(HttpMethod.Get, "alive");

        await CheckAsync(client, Offline, expectedModel: "offline");
        await Task.Delay(1500);
        throughputIdle = monitor.Read();
        Console.WriteLine($"# throughput: offline gateway pid {gateway.ProcessId}, idle working set {Mb(throughputIdle.PeakWorkingSetBytes)} MB; " +
                          $"{concurrency} workers, {throughputSeconds} s per pass, {runs} runs");
        await Load.ClosedLoopAsync(Alive, client, concurrency, TimeSpan.FromSeconds(3));
        await Load.ClosedLoopAsync(Offline, client, concurrency, TimeSpan.FromSeconds(5));
        for (var run = 1; run <= runs; run++)
        {
            ClosedLoopResult? alive = null, generate = null;
            ProcessSample? memory = null;
            foreach (var target in run % 2 == 1 ? new[] { "alive", "generate" } : ["generate", "alive"])
            {
                if (target == "alive")
                {
                    alive = await Load.ClosedLoopAsync(Alive, client, concurrency, TimeSpan.FromSeconds(throughputSeconds));
                }
                else
                {
                    monitor.Reset();
                    generate = await Load.ClosedLoopAsync(Offline, client, concurrency, TimeSpan.FromSeconds(throughputSeconds));
                    memory = monitor.Read();
                }
            }

            var load = Machine.LoadAverage();
            throughputRows.Add((alive!, generate!, memory!, load));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"run {run}: /alive {alive!.RequestsPerSecond:F0} req/s, /v1/generate {generate!.RequestsPerSecond:F0} req/s, ratio {generate.RequestsPerSecond / alive.RequestsPerSecond:F2}; " +
                $"gateway CPU {memory!.CpuTime.TotalMicroseconds / generate.Requests:F0} µs/req, peak WS {Mb(memory.PeakWorkingSetBytes)} MB, GC heap {memory.PeakGcHeapMb:F0} MB; load {load:F2}"));
        }
    }

    var cacheRows = new List<CacheRun>();
    if (only is "cache")
    {
        var settings = new Dictionary<string, string?>(common, StringComparer.OrdinalIgnoreCase)
        {
            ["Gemini:Endpoint"] = upstream.ToString(),
            ["Gemini:ApiKey"] = "bench-gemini-key",
            [$"Gateway:Models:{Model}:Cache:Enabled"] = "true",
            // Outlives the run, so the primed hit never expires mid-pass (every miss adds a ~1.5 KB entry: 5,000 per pass at the defaults).
            [$"Gateway:Models:{Model}:Cache:Ttl"] = "06:00:00",
        };
        await using var gateway = await ReleaseBuild.StartServiceAsync("Ai.Gateway", settings);
        await using var monitor = new ProcessMonitor(gateway.ProcessId);
        using var client = Load.Client(gateway.BaseAddress);
        using var upstreamClient = Load.Client(upstream);
        var unique = 0L;
        string NewPrompt() => $"{Prompt} #{Interlocked.Increment(ref unique)}";
        HttpRequestMessage Off() => Generate(ApiKey, Model, NewPrompt());
        HttpRequestMessage Miss() => Generate(ApiKey, Model, NewPrompt(), cache: "use");
        HttpRequestMessage Hit() => Generate(ApiKey, Model, Prompt, cache: "use");

        await CheckAsync(client, Hit, expectedModel: Model);
        await CheckCacheAsync(client, Hit, "hit");
        await CheckCacheAsync(client, Miss, "miss");
        Console.WriteLine($"# cache: gateway pid {gateway.ProcessId} at {gateway.BaseAddress}; {rps} RPS for {seconds} s per pass, {runs} runs, warm-up {warmup} s per target");
        foreach (var warm in new[] { Off, Miss, Hit })
        {
            await Load.OpenLoopAsync(warm, client, rps, TimeSpan.FromSeconds(warmup));
        }

        string[] targets = ["off", "miss", "hit"];
        for (var run = 1; run <= runs; run++)
        {
            var results = new Dictionary<string, (OpenLoopResult Result, double CpuUs)>(StringComparer.Ordinal);
            var hitUpstream = 0L;
            // Rotate the order so a trend in the background load hits all three alike.
            foreach (var target in targets.Skip((run - 1) % 3).Concat(targets.Take((run - 1) % 3)))
            {
                var before = await UpstreamRequestsAsync(upstreamClient);
                monitor.Reset();
                var result = await Load.OpenLoopAsync(target switch { "off" => Off, "miss" => Miss, _ => Hit }, client, rps, TimeSpan.FromSeconds(seconds));
                results[target] = (result, monitor.Read().CpuTime.TotalMicroseconds / (rps * seconds));
                var sent = await UpstreamRequestsAsync(upstreamClient) - before;
                if (target == "hit")
                {
                    // A lookup slower than Gateway:Policy:CacheTimeout is skipped and the model answers ('unavailable'): counted, not hidden.
                    hitUpstream = sent;
                }
                else if (sent < rps * seconds)
                {
                    throw new InvalidOperationException($"The {target} pass sent {sent} requests to the upstream for {rps * seconds} requests.");
                }
            }

            await CheckCacheAsync(client, Hit, "hit");
            await CheckCacheAsync(client, Miss, "miss");
            var row = new CacheRun(results["off"].Result, results["miss"].Result, results["hit"].Result,
                results["off"].CpuUs, results["miss"].CpuUs, results["hit"].CpuUs, hitUpstream, Machine.LoadAverage());
            cacheRows.Add(row);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"run {run}: off {row.Off.Latency}; miss {row.Miss.Latency}; hit {row.Hit.Latency}; hit − miss p50 {row.Hit.Latency.P50 - row.Miss.Latency.P50:F2} ms; " +
                $"gateway CPU off/miss/hit {row.OffCpuUs:F0}/{row.MissCpuUs:F0}/{row.HitCpuUs:F0} µs/req; hit pass upstream calls {row.HitUpstream}; load {row.Load:F2}"));
        }
    }

    Report(latencyRows, latencyIdle, throughputRows, throughputIdle);
    ReportCache(cacheRows);
    Children.Kill(upstreamProcess);
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

void Report(
    List<(OpenLoopResult Direct, OpenLoopResult Gateway, ProcessSample Memory, double RedisCpuUs, double UpstreamCpuUs, double Load)> latency, ProcessSample? latencyIdle,
    List<(ClosedLoopResult Alive, ClosedLoopResult Generate, ProcessSample Memory, double Load)> throughput, ProcessSample? throughputIdle)
{
    var text = new StringBuilder();
    var inv = CultureInfo.InvariantCulture;
    text.AppendLine();
    text.AppendLine(inv, $"Finished {TimeProvider.System.GetUtcNow():yyyy-MM-dd HH:mm} UTC, load average {Machine.LoadAverages()}.");
    if (latency.Count > 0)
    {
        text.AppendLine();
        text.AppendLine(inv, $"Latency at {rps} RPS (open loop, {seconds} s per pass; ms from the scheduled send time):");
        text.AppendLine();
        text.AppendLine("| run | direct p50 | p90 | p99 | max | gateway p50 | p90 | p99 | max | added p50 | added p90 | added p99 | gateway CPU µs/req | redis CPU µs/req | upstream CPU µs/req (direct) | load avg |");
        text.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (var i = 0; i < latency.Count; i++)
        {
            var (d, g, m, r, u, l) = latency[i];
            text.AppendLine(inv, $"| {i + 1} | {d.Latency.P50:F2} | {d.Latency.P90:F2} | {d.Latency.P99:F2} | {d.Latency.Max:F1} | {g.Latency.P50:F2} | {g.Latency.P90:F2} | {g.Latency.P99:F2} | {g.Latency.Max:F1} | " +
                                 $"{g.Latency.P50 - d.Latency.P50:F2} | {g.Latency.P90 - d.Latency.P90:F2} | {g.Latency.P99 - d.Latency.P99:F2} | {m.CpuTime.TotalMicroseconds / (rps * seconds):F0} | {r:F0} | {u:F0} | {l:F2} |");
        }

        var direct = Percentiles.MedianOf(latency.Select(x => x.Direct.Latency).ToList());
        var through = Percentiles.MedianOf(latency.Select(x => x.Gateway.Latency).ToList());
        text.AppendLine(inv, $"| **median** | {direct.P50:F2} | {direct.P90:F2} | {direct.P99:F2} | {direct.Max:F1} | {through.P50:F2} | {through.P90:F2} | {through.P99:F2} | {through.Max:F1} | " +
                             $"**{Stats.Median(latency.Select(x => x.Gateway.Latency.P50 - x.Direct.Latency.P50)):F2}** | {Stats.Median(latency.Select(x => x.Gateway.Latency.P90 - x.Direct.Latency.P90)):F2} | " +
                             $"**{Stats.Median(latency.Select(x => x.Gateway.Latency.P99 - x.Direct.Latency.P99)):F2}** | {Stats.Median(latency.Select(x => x.Memory.CpuTime.TotalMicroseconds / (rps * seconds))):F0} | " +
                             $"{Stats.Median(latency.Select(x => x.RedisCpuUs)):F0} | {Stats.Median(latency.Select(x => x.UpstreamCpuUs)):F0} | {Stats.Median(latency.Select(x => x.Load)):F2} |");
        text.AppendLine();
        text.AppendLine(inv, $"Ratios of the medians (gateway / direct): p50 {through.P50 / direct.P50:F2}×, p99 {through.P99 / direct.P99:F2}×. " +
                             $"Errors: {latency.Sum(x => x.Direct.Errors)} direct, {latency.Sum(x => x.Gateway.Errors)} gateway. " +
                             $"Scheduler send lateness p99 (median): {Stats.Median(latency.Select(x => x.Direct.SendLateness.P99)):F2} ms direct, {Stats.Median(latency.Select(x => x.Gateway.SendLateness.P99)):F2} ms gateway.");
    }

    if (throughput.Count > 0)
    {
        text.AppendLine();
        text.AppendLine(inv, $"Maximum throughput, offline provider (closed loop, {concurrency} workers, {throughputSeconds} s per pass):");
        text.AppendLine();
        text.AppendLine("| run | GET /alive req/s | POST /v1/generate req/s | generate / alive | gateway CPU µs/req | load avg |");
        text.AppendLine("|---:|---:|---:|---:|---:|---:|");
        for (var i = 0; i < throughput.Count; i++)
        {
            var (a, g, m, l) = throughput[i];
            text.AppendLine(inv, $"| {i + 1} | {a.RequestsPerSecond:N0} | {g.RequestsPerSecond:N0} | {g.RequestsPerSecond / a.RequestsPerSecond:F2} | {m.CpuTime.TotalMicroseconds / g.Requests:F0} | {l:F2} |");
        }

        var alive = Stats.Median(throughput.Select(x => x.Alive.RequestsPerSecond));
        var generate = Stats.Median(throughput.Select(x => x.Generate.RequestsPerSecond));
        text.AppendLine(inv, $"| **median** | {alive:N0} | **{generate:N0}** | {Stats.Median(throughput.Select(x => x.Generate.RequestsPerSecond / x.Alive.RequestsPerSecond)):F2} (of the medians: {generate / alive:F2}) | " +
                             $"{Stats.Median(throughput.Select(x => x.Memory.CpuTime.TotalMicroseconds / x.Generate.Requests)):F0} | {Stats.Median(throughput.Select(x => x.Load)):F2} |");
        text.AppendLine();
        text.AppendLine(inv, $"Errors: {throughput.Sum(x => x.Alive.Errors)} /alive, {throughput.Sum(x => x.Generate.Errors)} /v1/generate.");
    }

    text.AppendLine();
    text.AppendLine("Gateway memory (working set = resident set; GC heap and committed from the runtime's counters, 1 s samples):");
    text.AppendLine();
    text.AppendLine("| phase | idle working set | peak working set (max over runs) | peak GC heap | peak GC committed |");
    text.AppendLine("|---|---:|---:|---:|---:|");
    if (latency.Count > 0)
    {
        text.AppendLine(inv, $"| {rps} RPS through the gateway | {Mb(latencyIdle!.PeakWorkingSetBytes)} MB | {Mb(latency.Max(x => x.Memory.PeakWorkingSetBytes))} MB | " +
                             $"{latency.Max(x => x.Memory.PeakGcHeapMb):F0} MB | {latency.Max(x => x.Memory.PeakGcCommittedMb):F0} MB |");
    }

    if (throughput.Count > 0)
    {
        text.AppendLine(inv, $"| max RPS, offline, {concurrency} workers | {Mb(throughputIdle!.PeakWorkingSetBytes)} MB | {Mb(throughput.Max(x => x.Memory.PeakWorkingSetBytes))} MB | " +
                             $"{throughput.Max(x => x.Memory.PeakGcHeapMb):F0} MB | {throughput.Max(x => x.Memory.PeakGcCommittedMb):F0} MB |");
    }

    Console.Write(text.ToString());
}

void ReportCache(List<CacheRun> rows)
{
    if (rows.Count == 0)
    {
        return;
    }

    var text = new StringBuilder();
    var inv = CultureInfo.InvariantCulture;
    text.AppendLine();
    text.AppendLine(inv, $"Response cache at {rps} RPS (open loop, {seconds} s per pass; ms from the scheduled send time; fake upstream answers at once):");
    text.AppendLine();
    text.AppendLine("| run | off p50 | off p99 | miss p50 | miss p90 | miss p99 | hit p50 | hit p90 | hit p99 | **hit − miss p50** | miss − off p50 | gateway CPU µs/req off / miss / hit | hit pass upstream calls | load avg |");
    text.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (var i = 0; i < rows.Count; i++)
    {
        var r = rows[i];
        text.AppendLine(inv, $"| {i + 1} | {r.Off.Latency.P50:F2} | {r.Off.Latency.P99:F2} | {r.Miss.Latency.P50:F2} | {r.Miss.Latency.P90:F2} | {r.Miss.Latency.P99:F2} | " +
                             $"{r.Hit.Latency.P50:F2} | {r.Hit.Latency.P90:F2} | {r.Hit.Latency.P99:F2} | {r.Hit.Latency.P50 - r.Miss.Latency.P50:F2} | {r.Miss.Latency.P50 - r.Off.Latency.P50:F2} | " +
                             $"{r.OffCpuUs:F0} / {r.MissCpuUs:F0} / {r.HitCpuUs:F0} | {r.HitUpstream} | {r.Load:F2} |");
    }

    var off = Percentiles.MedianOf(rows.Select(x => x.Off.Latency).ToList());
    var miss = Percentiles.MedianOf(rows.Select(x => x.Miss.Latency).ToList());
    var hit = Percentiles.MedianOf(rows.Select(x => x.Hit.Latency).ToList());
    text.AppendLine(inv, $"| **median** | {off.P50:F2} | {off.P99:F2} | **{miss.P50:F2}** | {miss.P90:F2} | {miss.P99:F2} | **{hit.P50:F2}** | {hit.P90:F2} | {hit.P99:F2} | " +
                         $"**{Stats.Median(rows.Select(x => x.Hit.Latency.P50 - x.Miss.Latency.P50)):F2}** | {Stats.Median(rows.Select(x => x.Miss.Latency.P50 - x.Off.Latency.P50)):F2} | " +
                         $"{Stats.Median(rows.Select(x => x.OffCpuUs)):F0} / {Stats.Median(rows.Select(x => x.MissCpuUs)):F0} / {Stats.Median(rows.Select(x => x.HitCpuUs)):F0} | {rows.Sum(x => x.HitUpstream)} (total) | {Stats.Median(rows.Select(x => x.Load)):F2} |");
    text.AppendLine();
    text.AppendLine(inv, $"Hit ÷ miss of the medians: p50 {hit.P50 / miss.P50:F2}×, p99 {hit.P99 / miss.P99:F2}×. Errors: {rows.Sum(x => x.Off.Errors)} off, {rows.Sum(x => x.Miss.Errors)} miss, {rows.Sum(x => x.Hit.Errors)} hit.");
    Console.Write(text.ToString());
}

static string Mb(long bytes) => (bytes / (1024.0 * 1024.0)).ToString("F0", CultureInfo.InvariantCulture);

static HttpRequestMessage Generate(string apiKey, string model, string input, string? cache = null)
{
    var request = new HttpRequestMessage(HttpMethod.Post, "v1/generate")
    {
        Content = new StringContent(JsonSerializer.Serialize(new { input, model }), Encoding.UTF8, "application/json"),
    };
    request.Headers.Add("X-Api-Key", apiKey);
    if (cache is not null)
    {
        request.Headers.Add("x-gateway-cache", cache);
    }

    return request;
}

// The answer must say what the cache did (x-gateway-cache), as the pass expects.
static async Task CheckCacheAsync(HttpClient client, Func<HttpRequestMessage> request, string expected)
{
    using var message = request();
    using var response = await client.SendAsync(message);
    var status = response.Headers.TryGetValues("x-gateway-cache", out var values) ? values.Single() : "(none)";
    if (!response.IsSuccessStatusCode || status != expected)
    {
        throw new InvalidOperationException($"Expected a cache {expected}, got {(int)response.StatusCode} x-gateway-cache: {status}: {await response.Content.ReadAsStringAsync()}");
    }
}

// How many generateContent calls the fake upstream has answered (GET /requests).
static async Task<long> UpstreamRequestsAsync(HttpClient upstream) =>
    long.Parse(await upstream.GetStringAsync("requests"), CultureInfo.InvariantCulture);

// The body the gateway itself sends for the same input (a user turn), to the same path.
static HttpRequestMessage GenerateContent(string model, string input)
{
    var body = JsonSerializer.Serialize(new { contents = new[] { new { role = "user", parts = new[] { new { text = input } } } } });
    var request = new HttpRequestMessage(HttpMethod.Post, $"v1beta/models/{model}:generateContent")
    {
        Content = new StringContent(body, Encoding.UTF8, "application/json"),
    };
    request.Headers.Add("x-goog-api-key", "bench-gemini-key");
    return request;
}

// One request before measuring: it must succeed and be answered by the expected model (not a fallback, not offline by mistake).
static async Task CheckAsync(HttpClient client, Func<HttpRequestMessage> request, string expectedModel)
{
    using var message = request();
    using var response = await client.SendAsync(message);
    var body = await response.Content.ReadAsStringAsync();
    if (!response.IsSuccessStatusCode)
    {
        throw new InvalidOperationException($"The check request failed: {(int)response.StatusCode} {body}");
    }

    using var json = JsonDocument.Parse(body);
    var model = json.RootElement.GetProperty("model").GetString();
    if (model != expectedModel)
    {
        throw new InvalidOperationException($"The check request was answered by '{model}', expected '{expectedModel}': {body}");
    }
}

internal sealed record CacheRun(OpenLoopResult Off, OpenLoopResult Miss, OpenLoopResult Hit, double OffCpuUs, double MissCpuUs, double HitCpuUs, long HitUpstream, double Load);
