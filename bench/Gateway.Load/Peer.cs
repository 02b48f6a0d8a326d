using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using TestSupport;

namespace Bench;

/// <summary>
/// The peer comparison (issue 15): ai-gateway's <c>POST /v1/chat/completions</c> (a catalog model of the
/// <c>openai</c> provider) and Portkey's open-source gateway (npm <c>@portkey-ai/gateway</c>, its
/// <c>openai</c> provider with a custom host), both pointed at the same fake OpenAI-compatible upstream, measured
/// alternately in one run: at 1 and at <c>--concurrency</c> requests in flight (closed loop) and at a fixed
/// <c>--rps</c> (open loop), each against the upstream called directly in the same run. Reports added latency
/// over direct, maximum requests/s, CPU per request, and the working set idle, at peak and after the load.
/// </summary>
internal static class PeerComparison
{
    public const string PortkeyPackage = "@portkey-ai/gateway";
    public const string PortkeyVersion = "1.15.2";
    private const string Model = "gpt-bench";
    private const string Prompt = "Say OK.";

    private sealed record Pass(Percentiles Single, double SingleCpuUs, ClosedLoopResult Saturated, double SaturatedCpuUs, long SaturatedPeak,
        OpenLoopResult Fixed, double FixedCpuUs, long FixedPeak);

    public static async Task<int> RunAsync(Options options, Uri upstream, Dictionary<string, string?> common, string apiKey)
    {
        var runs = options.Int("--runs", 5);
        var seconds = options.Int("--seconds", 10);
        var rps = options.Int("--rps", 500);
        var concurrency = options.Int("--concurrency", 64);
        var settle = options.Int("--settle", 30);

        var portkeyScript = await InstallPortkeyAsync();
        var settings = new Dictionary<string, string?>(common, StringComparer.OrdinalIgnoreCase)
        {
            ["OpenAI:Endpoint"] = new Uri(upstream, "v1").ToString(),
            ["OpenAI:ApiKey"] = "bench-openai-key",
            [$"Gateway:Models:{Model}:Provider"] = "openai",
            [$"Gateway:Models:{Model}:Qps"] = "100000",
            [$"Gateway:Models:{Model}:Burst"] = "1000000",
            [$"Gateway:Models:{Model}:DailyLimit"] = "1000000000000",
            ["Gateway:DefaultModel"] = Model,
        };
        await using var gateway = await ReleaseBuild.StartServiceAsync("Ai.Gateway", settings);
        var (portkey, portkeyAddress) = await StartPortkeyAsync(portkeyScript);
        await using var gatewayMonitor = new ProcessMonitor(gateway.ProcessId, gcCounters: false);
        await using var portkeyMonitor = new ProcessMonitor(portkey.Id, gcCounters: false);

        // Idle after start: both up, nothing sent yet.
        await Task.Delay(3000);
        var idle = new Dictionary<string, long>
        {
            ["ai-gateway"] = gatewayMonitor.CurrentWorkingSetBytes(),
            ["Portkey"] = portkeyMonitor.CurrentWorkingSetBytes(),
        };

        using var gatewayClient = Load.Client(gateway.BaseAddress);
        using var portkeyClient = Load.Client(portkeyAddress);
        using var directClient = Load.Client(upstream);
        var upstreamHost = new Uri(upstream, "v1").ToString().TrimEnd('/');
        var targets = new (string Name, HttpClient Client, Func<HttpRequestMessage> Request, ProcessMonitor? Monitor)[]
        {
            ("direct", directClient, () => Chat("v1/chat/completions", _ => { }), null),
            ("ai-gateway", gatewayClient, () => Chat("v1/chat/completions", h => h.Add("X-Api-Key", apiKey)), gatewayMonitor),
            ("Portkey", portkeyClient, () => Chat("v1/chat/completions", h =>
            {
                h.Add("x-portkey-provider", "openai");
                h.Add("x-portkey-custom-host", upstreamHost);
                h.Add("Authorization", "Bearer bench-openai-key");
            }), portkeyMonitor),
        };

        foreach (var (name, client, request, _) in targets)
        {
            await CheckAsync(name, client, request);
        }

        Console.WriteLine($"# peer: ai-gateway pid {gateway.ProcessId} at {gateway.BaseAddress}, Portkey {PortkeyVersion} pid {portkey.Id} at {portkeyAddress}; " +
                          $"idle working set {Mb(idle["ai-gateway"])} / {Mb(idle["Portkey"])} MB; {runs} runs, {seconds} s per pass; c=1, c={concurrency}, {rps} RPS");
        foreach (var (_, client, request, _) in targets)
        {
            await Load.ClosedLoopAsync(request, client, concurrency, TimeSpan.FromSeconds(3));
        }

        var results = targets.ToDictionary(t => t.Name, _ => new List<Pass>());
        var loads = new List<double>();
        for (var run = 1; run <= runs; run++)
        {
            // Rotate the order so a trend in the background load hits every target alike.
            for (var k = 0; k < targets.Length; k++)
            {
                var (name, client, request, monitor) = targets[(k + run) % targets.Length];
                results[name].Add(await MeasureAsync(client, request, monitor, seconds, concurrency, rps));
            }

            loads.Add(Machine.LoadAverage());
            var line = string.Join("; ", targets.Select(t =>
            {
                var p = results[t.Name][^1];
                return string.Create(CultureInfo.InvariantCulture,
                    $"{t.Name} c=1 p50 {p.Single.P50:F2} ms p99 {p.Single.P99:F2}, c={concurrency} {p.Saturated.RequestsPerSecond:F0} req/s, {rps} RPS p50 {p.Fixed.Latency.P50:F2} p99 {p.Fixed.Latency.P99:F2}");
            }));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"run {run}: {line}; load {loads[^1]:F2}"));
        }

        // After the load: what each process still holds once it has had time to give memory back.
        await Task.Delay(TimeSpan.FromSeconds(settle));
        var after = new Dictionary<string, long>
        {
            ["ai-gateway"] = gatewayMonitor.CurrentWorkingSetBytes(),
            ["Portkey"] = portkeyMonitor.CurrentWorkingSetBytes(),
        };

        Report(results, idle, after, loads, runs, seconds, concurrency, rps, settle);
        Children.Kill(portkey);
        return 0;
    }

    private static async Task<Pass> MeasureAsync(HttpClient client, Func<HttpRequestMessage> request, ProcessMonitor? monitor, int seconds, int concurrency, int rps)
    {
        monitor?.Reset();
        var single = await Load.ClosedLoopAsync(request, client, 1, TimeSpan.FromSeconds(seconds));
        var singleCpu = monitor?.Read().CpuTime.TotalMicroseconds / Math.Max(1, single.Requests) ?? double.NaN;

        monitor?.Reset();
        var saturated = await Load.ClosedLoopAsync(request, client, concurrency, TimeSpan.FromSeconds(seconds));
        var saturatedSample = monitor?.Read();

        monitor?.Reset();
        var fixedRate = await Load.OpenLoopAsync(request, client, rps, TimeSpan.FromSeconds(seconds));
        var fixedSample = monitor?.Read();
        return new Pass(single.Latency, singleCpu,
            saturated, saturatedSample?.CpuTime.TotalMicroseconds / Math.Max(1, saturated.Requests) ?? double.NaN, saturatedSample?.PeakWorkingSetBytes ?? 0,
            fixedRate, fixedSample?.CpuTime.TotalMicroseconds / (rps * seconds) ?? double.NaN, fixedSample?.PeakWorkingSetBytes ?? 0);
    }

    private static void Report(Dictionary<string, List<Pass>> results, Dictionary<string, long> idle, Dictionary<string, long> after,
        List<double> loads, int runs, int seconds, int concurrency, int rps, int settle)
    {
        var inv = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        var direct = results["direct"];
        text.AppendLine();
        text.AppendLine(inv, $"Finished {TimeProvider.System.GetUtcNow():yyyy-MM-dd HH:mm} UTC; {runs} runs, {seconds} s per pass, load average during the runs {Stats.Join(loads, "F1")}.");
        text.AppendLine();
        text.AppendLine(inv, $"Peer comparison, medians over the runs (added = target − direct per run, then the median; direct: the fake upstream called straight):");
        text.AppendLine();
        text.AppendLine(inv, $"| | c=1 added p50 ms | c=1 added p99 ms | c=1 CPU µs/req | c={concurrency} req/s | ÷ direct | c={concurrency} CPU µs/req | {rps} RPS added p50 ms | {rps} RPS added p99 ms | {rps} RPS achieved | {rps} RPS CPU µs/req | idle WS MB | peak WS MB | WS {settle} s after MB |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        text.AppendLine(inv, $"| direct | ({Stats.Median(direct.Select(p => p.Single.P50)):F2}) | ({Stats.Median(direct.Select(p => p.Single.P99)):F2}) | | {Stats.Median(direct.Select(p => p.Saturated.RequestsPerSecond)):N0} | 1 | | ({Stats.Median(direct.Select(p => p.Fixed.Latency.P50)):F2}) | ({Stats.Median(direct.Select(p => p.Fixed.Latency.P99)):F2}) | | | | | |");
        foreach (var name in new[] { "ai-gateway", "Portkey" })
        {
            var passes = results[name];
            double Added(Func<Pass, double> value) => Stats.Median(passes.Select((p, i) => value(p) - value(direct[i])));
            var saturated = Stats.Median(passes.Select(p => p.Saturated.RequestsPerSecond));
            text.AppendLine(inv, $"| **{name}** | {Added(p => p.Single.P50):F2} | {Added(p => p.Single.P99):F2} | {Stats.Median(passes.Select(p => p.SingleCpuUs)):F0} | " +
                                 $"{saturated:N0} | {Stats.Median(passes.Select((p, i) => p.Saturated.RequestsPerSecond / direct[i].Saturated.RequestsPerSecond)):F2} | {Stats.Median(passes.Select(p => p.SaturatedCpuUs)):F0} | " +
                                 $"{Added(p => p.Fixed.Latency.P50):F2} | {Added(p => p.Fixed.Latency.P99):F2} | {Stats.Median(passes.Select(p => p.Fixed.AchievedRps)):F0} | {Stats.Median(passes.Select(p => p.FixedCpuUs)):F0} | " +
                                 $"{Mb(idle[name])} | {Mb(passes.Max(p => Math.Max(p.SaturatedPeak, p.FixedPeak)))} | {Mb(after[name])} |");
        }

        text.AppendLine();
        text.AppendLine("Errors: " + string.Join(", ", results.Select(r => string.Create(inv, $"{r.Key} {r.Value.Sum(p => p.Saturated.Errors + p.Fixed.Errors)}"))) + ".");
        Console.Write(text.ToString());
    }

    private static HttpRequestMessage Chat(string path, Action<System.Net.Http.Headers.HttpRequestHeaders> headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new StringContent(
                JsonSerializer.Serialize(new { model = Model, messages = new[] { new { role = "user", content = Prompt } } }),
                Encoding.UTF8, "application/json"),
        };
        headers(request.Headers);
        return request;
    }

    private static async Task CheckAsync(string name, HttpClient client, Func<HttpRequestMessage> request)
    {
        using var message = request();
        using var response = await client.SendAsync(message);
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode || !body.Contains(FakeUpstream.ChatAnswerText, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"The check request to {name} did not reach the fake upstream: {(int)response.StatusCode} {body}");
        }
    }

    /// <summary>
    /// Installs Portkey from npm into <c>artifacts/portkey</c> (once; <c>npm</c> must be on PATH) and returns its
    /// server script.
    /// </summary>
    private static async Task<string> InstallPortkeyAsync()
    {
        var artifacts = new DirectoryInfo(AppContext.BaseDirectory).Parent?.Parent?.Parent?.FullName
                        ?? throw new InvalidOperationException("Unexpected output folder.");
        var directory = Path.Combine(artifacts, "portkey", PortkeyVersion);
        var script = Path.Combine(directory, "node_modules", "@portkey-ai", "gateway", "build", "start-server.js");
        if (File.Exists(script))
        {
            return script;
        }

        var npm = LocalProcesses.FindOnPath("npm") ?? throw new InvalidOperationException("npm is not on PATH: install Node.js 20+ (apt-get install nodejs npm) for the peer comparison.");
        Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(Path.Combine(directory, "package.json"), """{ "name": "portkey-bench", "private": true }""");
        Console.WriteLine($"# installing {PortkeyPackage}@{PortkeyVersion} into {directory}");
        var info = new ProcessStartInfo(npm)
        {
            WorkingDirectory = directory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { "install", "--no-audit", "--no-fund", "--ignore-scripts", $"{PortkeyPackage}@{PortkeyVersion}" })
        {
            info.ArgumentList.Add(argument);
        }

        using var install = LocalProcesses.Start(info);
        var output = install.StandardOutput.ReadToEndAsync();
        var error = install.StandardError.ReadToEndAsync();
        await install.WaitForExitAsync();
        if (install.ExitCode != 0 || !File.Exists(script))
        {
            throw new InvalidOperationException($"npm install {PortkeyPackage}@{PortkeyVersion} failed ({install.ExitCode}): {await output}{await error}");
        }

        return script;
    }

    /// <summary>Starts Portkey's Node server (headless, production) on a free loopback port and waits until it accepts connections.</summary>
    private static async Task<(Process Process, Uri BaseAddress)> StartPortkeyAsync(string script)
    {
        var node = LocalProcesses.FindOnPath("node") ?? throw new InvalidOperationException("node is not on PATH.");
        var port = LocalProcesses.FreePort();
        var info = new ProcessStartInfo(node)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.ArgumentList.Add(script);
        info.ArgumentList.Add($"--port={port}");
        info.ArgumentList.Add("--headless");
        info.Environment["NODE_ENV"] = "production";
        var process = LocalProcesses.Start(info);
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"Portkey exited at start ({process.ExitCode}).");
            }

            try
            {
                using var socket = new TcpClient();
                await socket.ConnectAsync("127.0.0.1", port);
                return (process, new Uri($"http://127.0.0.1:{port}/"));
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        throw new InvalidOperationException("Portkey did not listen within 30 s.");
    }

    private static string Mb(long bytes) => (bytes / (1024.0 * 1024.0)).ToString("F0", CultureInfo.InvariantCulture);
}
