using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Communication.Bus.Benchmarks;

// Two modes:
//   dotnet run -c Release --project bench/Communication.Bus.Benchmarks -- micro [BenchmarkDotNet args]
//   dotnet run -c Release --project bench/Communication.Bus.Benchmarks -- load [--messages N] [--runs R]
if (args.Length > 0 && args[0] == "load")
{
    return await LoadBenchmark.RunAsync(args[1..]);
}

// In-process toolchain: no generated project to build (central package management would reject it).
var config = DefaultConfig.Instance
    .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(3).WithIterationCount(10))
    .WithOptions(ConfigOptions.DisableOptimizationsValidator);
BenchmarkSwitcher.FromAssembly(typeof(EnvelopeBenchmarks).Assembly).Run(args.Length > 0 && args[0] == "micro" ? args[1..] : args, config);
return 0;
