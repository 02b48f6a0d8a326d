using System.Net.Http.Json;
using System.Text.Json;
using TestSupport;

[assembly: AssemblyFixture(typeof(Web.Console.Browser.Tests.ConsoleFixture))]

namespace Web.Console.Browser.Tests;

/// <summary>
/// The real app on loopback for the whole assembly, as processes: one redis-server, orchestration-api, ai-gateway
/// (offline provider, its hosted agents registered with orchestration-api) and the web console (Development, as the
/// AppHost runs it) finding both services by configured address; and one headless Debian Chromium driven by
/// Playwright. Each test opens its own browser context (its own cookies).
/// </summary>
public sealed class ConsoleFixture : IAsyncLifetime
{
    /// <summary>How long a condition on a page may take on this shared 2-core machine (Playwright waits, never sleeps).</summary>
    public const float WaitMs = 45_000;

    private readonly List<IAsyncDisposable> _owned = [];
    private IPlaywright? _playwright;

    public RedisServer Redis { get; private set; } = null!;

    public ServiceProcess Orchestration { get; private set; } = null!;

    public ServiceProcess Gateway { get; private set; } = null!;

    public ServiceProcess Console { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>The key people sign in with: client and admin in both services (TestSecrets).</summary>
    public static string ApiKey => TestSecrets.ApiKey;

    /// <summary>Where the tests save their screenshots: artifacts/browser/ of the repository.</summary>
    public static string ScreenshotDirectory { get; } = Path.Combine(RepositoryRoot(), "artifacts", "browser");

    public async ValueTask InitializeAsync()
    {
        var chromium = ChromiumPath();
        Redis = await RedisServer.StartAsync();
        _owned.Add(Redis);
        Orchestration = await ServiceProcess.StartAsync("Orchestration.Api", Redis.ConnectionString);
        _owned.Add(Orchestration);
        Gateway = await ServiceProcess.StartAsync("Ai.Gateway", Redis.ConnectionString, new Dictionary<string, string?>
        {
            ["HostedAgents:ApiKey"] = TestSecrets.ApiKey,
            ["HostedAgents:OrchestrationUrl"] = Orchestration.BaseAddress.ToString(),
            ["Gemini:ApiKey"] = null, // the offline provider answers every model
            ["OpenAI:ApiKey"] = null,
        });
        _owned.Add(Gateway);
        Console = await ServiceProcess.StartAssemblyAsync(ServiceProcess.FindAssembly("Web.Console"), new Dictionary<string, string?>
        {
            ["Clients:orchestration-api:BaseAddress"] = Orchestration.BaseAddress.ToString(),
            ["Clients:ai-gateway:BaseAddress"] = Gateway.BaseAddress.ToString(),
        }, "Development");
        _owned.Add(Console);

        // software-team's steps go to the gateway's hosted agents: wait until they registered.
        using var api = Orchestration.CreateAuthorizedClient();
        await Eventually.TrueAsync(async () =>
        {
            var agents = await api.GetFromJsonAsync<JsonElement>("/api/agents");
            return agents.EnumerateArray().Any(a => a.GetProperty("id").GetString() == "team-leader");
        }, TimeSpan.FromSeconds(90), "the gateway's hosted agents registered with orchestration-api");

        Directory.CreateDirectory(ScreenshotDirectory);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            Timeout = 60_000,
        });
        Assertions.SetDefaultExpectTimeout(WaitMs);
    }

    /// <summary>A fresh browser context (no cookies) on the console, with every console error and page error recorded.</summary>
    public async Task<ConsolePage> OpenAsync(int width = 1280, int height = 900)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = Console.BaseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = width, Height = height },
        });
        context.SetDefaultTimeout(WaitMs);
        return new ConsolePage(context, await context.NewPageAsync());
    }

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }
    }

    /// <summary>
    /// The installed Chromium: CHROMIUM_PATH, else Debian's binary (/usr/lib/chromium/chromium, not the /usr/bin
    /// wrapper script), else chromium on PATH. Browser downloads are not used: scripts/ensure-chromium installs it.
    /// </summary>
    private static string ChromiumPath()
    {
        string?[] candidates =
        [
            Environment.GetEnvironmentVariable("CHROMIUM_PATH"),
            "/usr/lib/chromium/chromium",
            LocalProcesses.FindOnPath("chromium"),
            LocalProcesses.FindOnPath("chromium-browser"),
        ];
        return candidates.FirstOrDefault(c => !string.IsNullOrEmpty(c) && File.Exists(c))
            ?? throw new InvalidOperationException(
                "No Chromium found for the browser tests. Run ./scripts/ensure-chromium (installs Debian's 'chromium') or set CHROMIUM_PATH.");
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Aspire.sln")))
            {
                return directory.FullName;
            }
        }

        return AppContext.BaseDirectory;
    }
}
