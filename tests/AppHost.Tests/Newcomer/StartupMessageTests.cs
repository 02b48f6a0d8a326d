using System.Diagnostics;

namespace AppHost.Tests.Newcomer;

/// <summary>What a newcomer sees when the AppHost cannot provide Redis: advice, not a stack trace.</summary>
public sealed class StartupMessageTests
{
    [Theory]
    [InlineData("No Redis is available", "--Redis:Mode", "executable", "--Redis:Command", "no-such-redis-server")]
    [InlineData("Redis:Mode 'docker' is not valid", "--Redis:Mode", "docker")]
    [InlineData("ConnectionStrings:redis", "--Redis:Mode", "connectionString")]
    public async Task A_missing_or_misconfigured_redis_stops_the_apphost_with_advice_and_no_stack_trace(string advice, params string[] args)
    {
        var (exitCode, stdout, stderr) = await RunAppHostAsync(args);

        Assert.NotEqual(0, exitCode);
        Assert.Contains(advice, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", stdout + stderr, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"\n\s+at [\w.<>`]+\(", stdout + stderr);
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunAppHostAsync(string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "run", "--no-build", "--project", Projects.AppHost.ProjectPath, "--no-launch-profile", "--" }.Concat(args))
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["ASPIRE_VERSION_CHECK_DISABLED"] = "true";
        info.Environment["ASPIRE_ALLOW_UNSECURED_TRANSPORT"] = "true";
        info.Environment.Remove("ConnectionStrings__redis");

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"The AppHost did not stop within two minutes:\n{await stdout}\n{await stderr}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}
