using System.Collections.Concurrent;

namespace Web.Console.Browser.Tests;

/// <summary>One browser context and its page, recording every console error and uncaught page error.</summary>
public sealed class ConsolePage(IBrowserContext context, IPage page) : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _errors = Record(page);

    public IPage Page { get; } = page;

    public IReadOnlyCollection<string> Errors => _errors;

    private static ConcurrentQueue<string> Record(IPage page)
    {
        var errors = new ConcurrentQueue<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                errors.Enqueue($"console.error on {page.Url}: {message.Text}");
            }
        };
        page.PageError += (_, error) => errors.Enqueue($"page error on {page.Url}: {error}");
        // The console only says "Failed to load resource"; name the address.
        page.Response += (_, response) =>
        {
            if (response.Status >= 400)
            {
                errors.Enqueue($"{response.Status} for {response.Request.Method} {response.Url}");
            }
        };
        return errors;
    }

    /// <summary>Signs in through the form with <paramref name="key"/> and waits for the runs page.</summary>
    public async Task SignInAsync(string key)
    {
        await Page.GotoAsync("runs");
        await Assertions.Expect(Page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/sign-in"));
        await Page.GetByLabel("API key").FillAsync(key);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Runs", Level = 1 })).ToBeVisibleAsync();
        await Assertions.Expect(Page.GetByText("Signed in (admin)")).ToBeVisibleAsync();
        await InteractiveAsync();
    }

    /// <summary>
    /// Waits until the page runs interactively (its circuit is connected: the layout marks main data-interactive);
    /// before that a prerendered page shows but its buttons do nothing.
    /// </summary>
    public async Task InteractiveAsync() =>
        await Assertions.Expect(Page.Locator("main#main")).ToHaveAttributeAsync("data-interactive", "true");

    /// <summary>Saves a full-page screenshot as artifacts/browser/<paramref name="name"/>.png.</summary>
    public async Task ShotAsync(string name) =>
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ConsoleFixture.ScreenshotDirectory, name + ".png"), FullPage = true });

    /// <summary>Saves what the window shows (not the whole page) as artifacts/browser/<paramref name="name"/>.png: small enough for docs/.</summary>
    public async Task ShotWindowAsync(string name) =>
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ConsoleFixture.ScreenshotDirectory, name + ".png") });

    /// <summary>Fails with every console and page error recorded so far (<paramref name="where"/> names the page).</summary>
    public void AssertNoErrors(string where) =>
        Assert.True(_errors.IsEmpty, $"Browser errors by {where}:\n{string.Join('\n', _errors)}");

    public async ValueTask DisposeAsync() => await context.DisposeAsync();
}
