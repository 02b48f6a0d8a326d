using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Communication.Bus;
using StackExchange.Redis;
using TestSupport;
using static Microsoft.Playwright.Assertions;

namespace Web.Console.Browser.Tests;

/// <summary>
/// The console in a real Chromium against the real services: what a person does, page by page, with screenshots of
/// each page (artifacts/browser/) and no console error anywhere. Conditions are waited on with Playwright's
/// auto-waiting assertions, never fixed sleeps.
/// </summary>
[Trait("Category", "Browser")]
public sealed partial class ConsoleJourneyTests(ConsoleFixture app)
{
    private const string RequestInput = """{ "request": "A todo list web app with user accounts", "approvalGate": true }""";
    private static readonly string[] TeamSteps = ["analysis", "prd", "architecture", "approve-design", "code", "qa", "security", "merge"];

    [Fact]
    public async Task Sign_in_start_software_team_watch_it_finish_live_cancel_a_run_replay_a_dead_letter_and_sign_out()
    {
        await using var browser = await app.OpenAsync();
        var page = browser.Page;

        // Sign in with an API key.
        await page.GotoAsync("runs");
        await Expect(page).ToHaveURLAsync(SignInUrl());
        await browser.ShotAsync("sign-in");
        await browser.SignInAsync(ConsoleFixture.ApiKey);
        browser.AssertNoErrors("sign-in");

        // Start software-team with its approval gate, from the Start page.
        var first = await StartTeamRunAsync(browser);

        // The run page draws every step; it waits at the approval gate with the later steps still pending.
        var runUrl = page.Url;
        await StepIsAsync(page, "approve-design", "status-waiting");
        foreach (var done in new[] { "analysis", "prd", "architecture" })
        {
            await StepIsAsync(page, done, "status-succeeded");
        }

        await StepIsAsync(page, "merge", "status-pending");
        // A mark on this document: a reload or a navigation would drop it.
        await page.EvaluateAsync("() => window.__samePage = 'never reloaded'");
        await browser.ShotAsync("run-waiting");

        // Approve in the page; every step turns green while we watch, without a reload.
        await Step(page, "approve-design").GetByRole(AriaRole.Button, new() { Name = "Approve" }).ClickAsync();
        foreach (var step in TeamSteps)
        {
            await StepIsAsync(page, step, "status-succeeded");
        }

        await Expect(RunStatus(page)).ToHaveTextAsync("SUCCEEDED");
        await Expect(page.Locator("#events-title")).Not.ToContainTextAsync("(live)");
        Assert.Equal("never reloaded", await page.EvaluateAsync<string>("() => window.__samePage"));
        Assert.Equal(runUrl, page.Url);
        await Expect(page.Locator(".event-list")).ToContainTextAsync("workflow_completed");
        // The picture in the README (docs/console.png is this file): the finished run at the top of its page.
        await page.EvaluateAsync("() => window.scrollTo(0, 0)");
        await browser.ShotWindowAsync("console");

        // Open a step: its output and its cost.
        var code = Step(page, "code");
        await code.Locator("details.attempts > summary").ClickAsync();
        await code.Locator("details.json > summary", new() { HasText = "Output" }).ClickAsync();
        await Expect(code.Locator("details.json pre").Last).ToBeVisibleAsync();
        await Expect(code.Locator("details.json pre").Last).Not.ToBeEmptyAsync();
        await Expect(code.Locator("dt", new() { HasText = "Cost" }).First).ToBeVisibleAsync();
        await Expect(code.Locator("dt:text-is('Cost') + dd").First).ToHaveTextAsync(UsdAmount());
        await Expect(code.Locator("details.attempts tbody tr")).ToHaveCountAsync(1);
        await browser.ShotAsync("run");
        browser.AssertNoErrors("the run page");

        // A second run, cancelled while it waits for its approval.
        var second = await StartTeamRunAsync(browser);
        Assert.NotEqual(first, second);
        await StepIsAsync(page, "approve-design", "status-waiting");
        await page.GetByRole(AriaRole.Button, new() { Name = "Cancel run" }).ClickAsync();
        await Expect(RunStatus(page)).ToHaveTextAsync("CANCELLED");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Cancel run" })).ToHaveCountAsync(0);
        await browser.ShotAsync("run-cancelled");

        // Both runs on the Runs page, newest first, with their final statuses.
        await Nav(page, "Runs").ClickAsync();
        await Expect(page.Locator($"tr[data-run='{second}'] .status")).ToHaveTextAsync("CANCELLED");
        await Expect(page.Locator($"tr[data-run='{first}'] .status")).ToHaveTextAsync("SUCCEEDED");
        await Expect(page.Locator("tbody tr").First).ToHaveAttributeAsync("data-run", second);
        await browser.ShotAsync("runs");
        browser.AssertNoErrors("the runs page");

        // Workflows and agents.
        await Nav(page, "Workflows").ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Workflows", Level = 1 })).ToBeVisibleAsync();
        await Expect(page.GetByText("software-team").First).ToBeVisibleAsync();
        await browser.ShotAsync("workflows");
        await Nav(page, "Agents").ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Agents", Level = 1 })).ToBeVisibleAsync();
        await Expect(page.GetByText("team-leader").First).ToBeVisibleAsync();
        await browser.ShotAsync("agents");
        browser.AssertNoErrors("the workflows and agents pages");

        // A tampered result (signed with a wrong secret) becomes a dead letter; the Gateway page lists it and replays it.
        var messageId = await PublishTamperedResultAsync();
        await Nav(page, "Gateway").ClickAsync();
        await Expect(page.Locator("tr[data-model]").First).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { NameRegex = new Regex(@"^orchestration\.results \(\d+\)$") }).ClickAsync();
        var letter = page.Locator("tr[data-dead-letter]", new() { HasText = "bad-signature" }).First;
        await Expect(letter).ToBeVisibleAsync();
        await browser.ShotAsync("gateway");
        await letter.GetByRole(AriaRole.Button, new() { Name = "Replay" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Replayed");
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("orchestration.results");
        browser.AssertNoErrors("the gateway page");
        Assert.False(string.IsNullOrEmpty(messageId));

        // Sign out: back on the sign-in page, and a page needs signing in again.
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(SignInUrl());
        await page.GotoAsync("runs");
        await Expect(page).ToHaveURLAsync(SignInUrl());
        await Expect(page.GetByLabel("API key")).ToBeVisibleAsync();
        browser.AssertNoErrors("sign-out");
    }

    [Fact]
    public async Task Back_and_forward_between_a_parent_run_and_its_child_run_show_and_follow_each_run()
    {
        // A workflow whose one step runs software-team as a child run (waiting at its approval gate).
        var ct = TestContext.Current.CancellationToken;
        using var api = app.Orchestration.CreateAuthorizedClient();
        var definition = new
        {
            id = "team-release",
            steps = new object[] { new { id = "team", type = "workflow", workflow = "software-team", input = JsonDocument.Parse(RequestInput).RootElement } },
        };
        (await api.PutAsJsonAsync("/api/workflows/team-release", definition, ct)).EnsureSuccessStatusCode();
        using var started = await api.PostAsJsonAsync("/api/workflows/team-release/runs", new { input = new { } }, ct);
        var parentId = (await started.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("runId").GetString()!;

        await using var browser = await app.OpenAsync();
        var page = browser.Page;
        await browser.SignInAsync(ConsoleFixture.ApiKey);
        await page.GotoAsync($"runs/{Uri.EscapeDataString(parentId)}");
        await Expect(Heading(page)).ToContainTextAsync("team-release");
        await browser.InteractiveAsync();

        // The parent's step links its child run; following the link keeps the page and sets it to the child.
        var childLink = Step(page, "team").Locator(".child-run a");
        await Expect(childLink).ToBeVisibleAsync();
        var childId = (await childLink.TextContentAsync())!.Trim();
        await page.EvaluateAsync("() => window.__samePage = 'never reloaded'");
        await childLink.ClickAsync();
        await Expect(page).ToHaveURLAsync(RunUrl(childId));
        await Expect(Heading(page)).ToContainTextAsync("software-team");
        await StepIsAsync(page, "approve-design", "status-waiting");
        await Expect(page.Locator(".parent-run a")).ToHaveAttributeAsync("href", $"runs/{parentId}");
        await Expect(EventOf(page, "analysis")).Not.ToHaveCountAsync(0);
        await Expect(EventOf(page, "team")).ToHaveCountAsync(0);

        // Back: the parent again, with its own events only.
        await page.GoBackAsync();
        await Expect(page).ToHaveURLAsync(RunUrl(parentId));
        await Expect(Heading(page)).ToContainTextAsync("team-release");
        await StepIsAsync(page, "team", "status-running");
        await Expect(EventOf(page, "team")).Not.ToHaveCountAsync(0);
        await Expect(EventOf(page, "analysis")).ToHaveCountAsync(0);

        // Forward: the child again, and live: approve it and watch every step turn green.
        await page.GoForwardAsync();
        await Expect(page).ToHaveURLAsync(RunUrl(childId));
        await Expect(Heading(page)).ToContainTextAsync("software-team");
        await Expect(page.Locator("#events-title")).ToContainTextAsync("(live)");
        await Step(page, "approve-design").GetByRole(AriaRole.Button, new() { Name = "Approve" }).ClickAsync();
        foreach (var step in TeamSteps)
        {
            await StepIsAsync(page, step, "status-succeeded");
        }

        await Expect(EventOf(page, "team")).ToHaveCountAsync(0);

        // Back: the parent took the child's end, live too.
        await page.GoBackAsync();
        await Expect(page).ToHaveURLAsync(RunUrl(parentId));
        await StepIsAsync(page, "team", "status-succeeded");
        await Expect(RunStatus(page)).ToHaveTextAsync("SUCCEEDED");
        await Expect(EventOf(page, "analysis")).ToHaveCountAsync(0);
        Assert.Equal("never reloaded", await page.EvaluateAsync<string>("() => window.__samePage"));
        await browser.ShotAsync("run-parent");
        browser.AssertNoErrors("back and forward between a parent and its child run");
    }

    [Fact]
    public async Task On_a_375_px_screen_every_page_fits_the_width_without_errors()
    {
        await using var browser = await app.OpenAsync(width: 375, height: 800);
        var page = browser.Page;
        await browser.SignInAsync(ConsoleFixture.ApiKey);
        var runId = await StartTeamRunAsync(browser);
        await StepIsAsync(page, "approve-design", "status-waiting");

        foreach (var (path, heading) in new[] { ("runs", "Runs"), ($"runs/{runId}", "software-team"), ("start", "Start a run"), ("workflows", "Workflows"), ("agents", "Agents"), ("gateway", "Gateway") })
        {
            await page.GotoAsync(path);
            await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToContainTextAsync(heading);
            await browser.InteractiveAsync();
            // Wide tables scroll inside their own box; the page itself never scrolls sideways.
            var overflow = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth");
            Assert.True(overflow <= 0, $"/{path} is {overflow} px wider than a 375 px screen");
            await browser.ShotAsync("narrow-" + (path.StartsWith("runs/", StringComparison.Ordinal) ? "run" : path));
        }

        await page.GotoAsync($"runs/{runId}");
        await page.GetByRole(AriaRole.Button, new() { Name = "Cancel run" }).ClickAsync();
        await Expect(RunStatus(page)).ToHaveTextAsync("CANCELLED");
        browser.AssertNoErrors("the pages at 375 px");
    }

    [Fact]
    public async Task The_keyboard_alone_signs_in_and_reaches_every_main_control()
    {
        await using var browser = await app.OpenAsync();
        var page = browser.Page;
        await page.GotoAsync("sign-in");

        // Sign in without the mouse: Tab to the key field, type, Enter.
        await TabUntilAsync(page, "#api-key");
        await page.Keyboard.TypeAsync(ConsoleFixture.ApiKey);
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Runs", Level = 1 })).ToBeVisibleAsync();
        await browser.InteractiveAsync();

        // From the top of the Runs page, Tab reaches the skip link, every navigation link, sign-out and the filters.
        var reached = await TabThroughAsync(page, 30);
        foreach (var control in new[] { "a:Skip to content", "a:Runs", "a:Start a run", "a:Workflows", "a:Agents", "a:Gateway", "button:Sign out", "select:" })
        {
            Assert.Contains(reached, r => r.StartsWith(control, StringComparison.Ordinal) || (control == "select:" && r.StartsWith("select", StringComparison.Ordinal)));
        }

        // Enter on a focused navigation link opens its page.
        await Nav(page, "Start a run").FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Start a run", Level = 1 })).ToBeVisibleAsync();
        await TabUntilAsync(page, "#workflow");
        await TabUntilAsync(page, "#input");
        await TabUntilAsync(page, "#idempotency-key");
        await TabUntilAsync(page, "button[type=submit]");

        // The focus is visible: the focused control draws an outline.
        var outline = await page.EvaluateAsync<string>("() => getComputedStyle(document.activeElement).outlineStyle");
        Assert.NotEqual("none", outline);
        browser.AssertNoErrors("keyboard use");
    }

    private static async Task<string> StartTeamRunAsync(ConsolePage browser)
    {
        var page = browser.Page;
        await Nav(page, "Start a run").ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Start a run", Level = 1 })).ToBeVisibleAsync();
        await Expect(page.Locator("#workflow option[value='software-team']")).ToHaveCountAsync(1);
        await browser.InteractiveAsync();
        await page.Locator("#workflow").SelectOptionAsync("software-team");
        await page.Locator("#input").FillAsync(RequestInput);
        if (!browser.Errors.Any())
        {
            await browser.ShotAsync("start");
        }

        try
        {
            await page.Locator("form.start button[type=submit]").ClickAsync();
        }
        catch (TimeoutException)
        {
            await browser.ShotAsync("failure-start");
            throw new InvalidOperationException($"The Start button could not be clicked. The page:\n{await page.ContentAsync()}\nErrors: {string.Join('\n', browser.Errors)}");
        }

        await Expect(page).ToHaveURLAsync(new Regex("/runs/[^/]+$"));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToContainTextAsync("software-team");
        return Uri.UnescapeDataString(new Uri(page.Url).Segments[^1]);
    }

    private async Task<string> PublishTamperedResultAsync()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(app.Redis.ConnectionString);
        var settings = new CommunicationBusSettings { ServiceName = "browser-test", ConsumerName = "browser-test" };
        settings.Signing.Keys.Add(new SigningKeySettings { Id = TestSecrets.SigningKeyId, Secret = new string('w', 48) });
        await using var bus = new RedisMessageBus(redis, settings);
        var receipt = await bus.PublishAsync(OutgoingMessage.Create(MessageType.TaskResult, "orchestration.results", new { runId = "none", stepId = "none", ok = true }));
        // The page lists what is there when it opens: wait until orchestration-api has dead-lettered the message.
        var letters = bus.DeadLetters;
        await Eventually.TrueAsync(async () => (await letters.ListAsync("orchestration.results")).Any(l => l.MessageId == receipt.MessageId),
            TimeSpan.FromSeconds(30), "orchestration-api dead-letters the tampered result");
        return receipt.MessageId;
    }

    private static async Task TabUntilAsync(IPage page, string selector)
    {
        for (var i = 0; i < 40; i++)
        {
            await page.Keyboard.PressAsync("Tab");
            if (await page.EvaluateAsync<bool>("s => document.activeElement?.matches(s) ?? false", selector))
            {
                return;
            }
        }

        Assert.Fail($"Tab never reached {selector}");
    }

    private static async Task<List<string>> TabThroughAsync(IPage page, int presses)
    {
        var reached = new List<string>();
        for (var i = 0; i < presses; i++)
        {
            await page.Keyboard.PressAsync("Tab");
            reached.Add(await page.EvaluateAsync<string>(
                "() => { const e = document.activeElement; return e ? e.tagName.toLowerCase() + ':' + (e.innerText || e.value || '').trim() : ''; }"));
        }

        return reached;
    }

    /// <summary>Waits until the step's node has <paramref name="status"/>; on failure says what the service says of the run.</summary>
    private async Task StepIsAsync(IPage page, string step, string status)
    {
        try
        {
            await Expect(Step(page, step)).ToHaveClassAsync(Class(status));
        }
        catch (PlaywrightException e)
        {
            var runId = Uri.UnescapeDataString(new Uri(page.Url).Segments[^1]);
            using var api = app.Orchestration.CreateAuthorizedClient();
            var run = await api.GetStringAsync($"/api/runs/{Uri.EscapeDataString(runId)}");
            throw new InvalidOperationException($"Step {step} never showed {status}: {e.Message}\n--- the run as orchestration-api has it ---\n{run}\n--- console output ---\n{app.Console.Output}");
        }
    }

    private static ILocator Nav(IPage page, string name) =>
        page.GetByRole(AriaRole.Navigation, new() { Name = "Main" }).GetByRole(AriaRole.Link, new() { Name = name, Exact = true });

    private static ILocator Step(IPage page, string id) => page.Locator($"li.node[data-step='{id}']");

    private static ILocator Heading(IPage page) => page.GetByRole(AriaRole.Heading, new() { Level = 1 });

    // The page's events of a step (the event list names the step and attempt: "team #1").
    private static ILocator EventOf(IPage page, string step) =>
        page.Locator(".event-list .event-step", new() { HasTextRegex = new Regex($"^{Regex.Escape(step)}( #\\d+)?$") });

    private static Regex RunUrl(string runId) => new($"/runs/{Regex.Escape(Uri.EscapeDataString(runId))}$");

    private static ILocator RunStatus(IPage page) => page.Locator("header.run-head .status");

    private static Regex Class(string name) => new($"(^|\\s){Regex.Escape(name)}(\\s|$)");

    [GeneratedRegex("/sign-in")]
    private static partial Regex SignInUrl();

    [GeneratedRegex(@"^\$\d+\.\d+$")]
    private static partial Regex UsdAmount();
}
