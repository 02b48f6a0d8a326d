using System.Globalization;

namespace TestSupport.Fuzz;

/// <summary>
/// How much to fuzz and from which seed: <c>FUZZ_CASES</c> (cases per service; <paramref name="Cases"/> defaults to the
/// CI size), <c>FUZZ_SEED</c> (replays a run exactly; a fresh seed otherwise) and <c>FUZZ_CASE</c> (only that case
/// number of the seed's run, to debug one finding).
/// </summary>
public sealed record FuzzSettings(int Seed, int Cases, int? OnlyCase)
{
    /// <summary>The CI size: cases per service, small enough for the fuzz tier to stay within ~3 minutes on 2 cores.</summary>
    public const int DefaultCases = 3000;

    public static FuzzSettings FromEnvironment(int defaultCases = DefaultCases) => new(
        Read("FUZZ_SEED") ?? Random.Shared.Next(1, int.MaxValue),
        Read("FUZZ_CASES") is > 0 and var cases ? cases : defaultCases,
        Read("FUZZ_CASE"));

    /// <summary>The command that replays this run.</summary>
    public string Replay(string filter) =>
        string.Create(CultureInfo.InvariantCulture, $"FUZZ_SEED={Seed} FUZZ_CASES={Cases} ./scripts/test --filter \"{filter}\"");

    private static int? Read(string name) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;
}
