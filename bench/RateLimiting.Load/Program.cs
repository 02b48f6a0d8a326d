// Decisions per second of the distributed token bucket vs raw EVALSHA of a trivial script, on
// the same Redis, in the same process, with the same number of calls in flight. Each run measures
// every scenario one after the other (raw, bucket, ...), so background load on a shared machine
// hits them alike; the report gives medians over the runs and the median of the per-run ratios.
// A run in which any decision came from the fallback (Redis error or timeout) is rejected.
//
//   dotnet run -c Release --project bench/RateLimiting.Load -- [--runs 5] [--seconds 3]
//       [--concurrency 64] [--redis host:port] [--only <scenario substring>]
//   (default: starts its own redis-server on a free port and stops it at the end)
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Bench;
using Communication.Bus.RateLimiting;
using StackExchange.Redis;
using TestSupport;

Children.Install();
var settings = Settings.Parse(args);
await using var server = settings.Redis is null ? await RedisServer.StartAsync() : null;
var connectionString = settings.Redis ?? server!.ConnectionString;
await using var redis = await ConnectionMultiplexer.ConnectAsync(connectionString);
await using var admin = await ConnectionMultiplexer.ConnectAsync(connectionString + ",allowAdmin=true");
var adminServer = admin.GetServer(admin.GetEndPoints()[0]);
var logger = new ConsoleWarnings();
using var tokenBucket = new DistributedTokenBucket(redis, new TokenBucketOptions(), logger: logger);
using var unbatched = new DistributedTokenBucket(redis, new TokenBucketOptions { MaxBatchSize = 1 }, logger: logger);

const string TrivialScript = "return 1";
var trivialSha = (await redis.GetServer(redis.GetEndPoints()[0]).ScriptLoadAsync(TrivialScript)).ToArray();
var database = redis.GetDatabase();
RedisKey[] rawKeys = ["bench:raw"];

// Always granted (the write path of the script): the bucket never runs dry at these rates.
var open = new TokenBucketRule(Capacity: 1_000_000_000, RefillPerSecond: 1_000_000_000);
var withQuota = open with { DailyQuota = long.MaxValue / 2, DailyQuotaTimeZone = "America/Los_Angeles" };

// The library's own script (internal; read by reflection), called raw with the arguments the
// library sends for `open`: the server-side cost of a decision without the .NET layer.
var bucketScript = (string)typeof(DistributedTokenBucket).Assembly.GetType("Communication.Bus.RateLimiting.TokenBucketScript")!.GetField("Source")!.GetValue(null)!;
var bucketSha = (await redis.GetServer(redis.GetEndPoints()[0]).ScriptLoadAsync(bucketScript)).ToArray();
RedisKey[] bucketKeys = ["ratelimit:{bench:rawbucket}"];
// capacity, refill/s, now ("" = server TIME), quota ("" = none), 4 window bounds (none), one cost.
RedisValue[] bucketArgs = [1_000_000_000, 1_000_000_000, "", "", "", "", "", "", 1];
// Guard against a stale argument layout: the raw call must really decide (and write) like the library's.
var check = (RedisResult[])(await database.ScriptEvaluateAsync(bucketSha, bucketKeys, bucketArgs))!;
if (check.Length != 7 || (long)check[0] != 1 || !await database.KeyExistsAsync(bucketKeys[0]))
{
    throw new InvalidOperationException("The raw bucket-script call does not match the script's argument layout.");
}

var perWorker = Enumerable.Range(0, settings.Concurrency).Select(i => $"bench:worker-{i}").ToArray();
// Each call gets the index of the worker (0 … concurrency − 1) that makes it.
var scenarios = new (string Name, Func<int, Task<bool>> Call)[]
{
    ("raw EVALSHA `return 1`", async _ => { await database.ScriptEvaluateAsync(trivialSha, rawKeys); return true; }),
    ("raw EVALSHA bucket script", async _ => { await database.ScriptEvaluateAsync(bucketSha, bucketKeys, bucketArgs); return true; }),
    ("token bucket, one bucket", async _ => !(await tokenBucket.TryAcquireAsync("bench:bucket", open)).FromFallback),
    ("token bucket + daily quota, one bucket", async _ => !(await tokenBucket.TryAcquireAsync("bench:quota", withQuota)).FromFallback),
    ("token bucket, one bucket, MaxBatchSize 1", async _ => !(await unbatched.TryAcquireAsync("bench:unbatched", open)).FromFallback),
    ("token bucket, a bucket per worker", async worker => !(await tokenBucket.TryAcquireAsync(perWorker[worker], open)).FromFallback),
};

if (settings.Only is { } only)
{
    scenarios = scenarios.Where(s => s.Name.Contains(only, StringComparison.OrdinalIgnoreCase)).ToArray();
}

Console.WriteLine($"# {Environment.ProcessorCount} cores, {settings.Concurrency} in flight, {settings.Runs} runs × {settings.Seconds} s per scenario, " +
                  $"Redis {redis.GetServer(redis.GetEndPoints()[0]).Version} at {connectionString}{(server is null ? "" : " (own redis-server)")}");
foreach (var (name, call) in scenarios)
{
    await MeasureAsync(call, settings.Concurrency, TimeSpan.FromSeconds(1)); // warm-up
}

var results = scenarios.SelectMany(s => new[] { s.Name, s.Name + " cpu", s.Name + " batch" }).ToDictionary(name => name, _ => new List<double>());
for (var run = 1; run <= settings.Runs; run++)
{
    foreach (var (name, call) in scenarios)
    {
        var scriptCallsBefore = await ScriptCallsAsync(adminServer);
        var perSecond = await MeasureAsync(call, settings.Concurrency, TimeSpan.FromSeconds(settings.Seconds));
        var perScriptCall = ClientCpu.LastCalls / (double)(await ScriptCallsAsync(adminServer) - scriptCallsBefore);
        results[name].Add(perSecond);
        results[name + " cpu"].Add(ClientCpu.LastMicrosecondsPerCall);
        results[name + " batch"].Add(perScriptCall);
        Console.WriteLine($"run {run}: {name,-42} {perSecond,10:N0} /s   client CPU {ClientCpu.LastMicrosecondsPerCall:F1} µs/call   {perScriptCall:F1} calls per EVALSHA");
    }
}

var baseline = Median(results[scenarios[0].Name]);
Console.WriteLine();
Console.WriteLine("| scenario | median ops/s | runs (ops/s) | median ÷ median of first row | median of per-run ratios | client CPU µs/call (median) | calls per EVALSHA (median) |");
Console.WriteLine("|---|---:|---|---:|---:|---:|---:|");
var first = results[scenarios[0].Name];
foreach (var (name, _) in scenarios)
{
    var median = Median(results[name]);
    var runs = string.Join(", ", results[name].Select(r => r.ToString("N0", CultureInfo.InvariantCulture)));
    var paired = Median(results[name].Select((r, i) => r / first[i]).ToList());
    Console.WriteLine($"| {name} | {median:N0} | {runs} | {median / baseline:F2}× | {paired:F2}× | {Median(results[name + " cpu"]):F1} | {Median(results[name + " batch"]):F1} |");
}

static async Task<double> MeasureAsync(Func<int, Task<bool>> call, int concurrency, TimeSpan duration)
{
    long completed = 0, fallbacks = 0;
    var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
    var clock = Stopwatch.StartNew();
    var workers = Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
    {
        long mine = 0;
        while (clock.Elapsed < duration)
        {
            if (!await call(worker))
            {
                Interlocked.Increment(ref fallbacks);
            }

            mine++;
        }

        Interlocked.Add(ref completed, mine);
    }));
    await Task.WhenAll(workers);
    if (fallbacks > 0)
    {
        // Decisions made without Redis (errors, timeouts, open breaker) would inflate the numbers.
        throw new InvalidOperationException($"{fallbacks} of {completed} decisions came from the fallback: the run is invalid.");
    }

    var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
    ClientCpu.LastMicrosecondsPerCall = cpu.TotalMicroseconds / completed;
    ClientCpu.LastCalls = completed;
    return completed / clock.Elapsed.TotalSeconds;
}

static async Task<long> ScriptCallsAsync(IServer server)
{
    var stats = (await server.InfoAsync("commandstats")).SelectMany(group => group)
        .Where(pair => pair.Key is "cmdstat_evalsha" or "cmdstat_eval");
    return stats.Sum(pair => long.Parse(pair.Value.Split(',')[0]["calls=".Length..], CultureInfo.InvariantCulture));
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    var middle = sorted.Count / 2;
    return sorted.Count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

internal sealed class ConsoleWarnings : Microsoft.Extensions.Logging.ILogger<DistributedTokenBucket>
{
    private int _printed;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => logLevel >= Microsoft.Extensions.Logging.LogLevel.Warning;

    public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel) && Interlocked.Increment(ref _printed) <= 5)
        {
            Console.Error.WriteLine($"{logLevel}: {formatter(state, exception)} {exception?.GetType().Name}: {exception?.Message}");
        }
    }
}

internal sealed record Settings(int Runs, int Seconds, int Concurrency, string? Redis, string? Only)
{
    public static Settings Parse(string[] args)
    {
        string? Value(string name)
        {
            var index = Array.IndexOf(args, name);
            return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
        }

        int Number(string name, int fallback) =>
            Value(name) is { } text ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;

        return new Settings(Number("--runs", 5), Number("--seconds", 3), Number("--concurrency", 64), Value("--redis"), Value("--only"));
    }
}

/// <summary>Process CPU time (this client, not redis-server) per call in the last measurement.</summary>
internal static class ClientCpu
{
    public static double LastMicrosecondsPerCall;

    public static long LastCalls;
}
