using System.Net;
using System.Text.RegularExpressions;

namespace AppHost.Tests;

/// <summary>The web console in the whole app: it finds both services by service discovery and signs people in with a key.</summary>
[Collection(AppHostCollection.Name)]
public sealed partial class ConsoleTests(AppHostFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_page_without_sign_in_sends_the_browser_to_the_sign_in_page()
    {
        using var browser = new Browser(fixture);

        using var response = await browser.Http.GetAsync("/runs", Ct);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("/sign-in", response.Headers.Location!.PathAndQuery, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_console_key_signs_in_through_orchestration_api_and_the_runs_page_answers()
    {
        using var browser = new Browser(fixture);

        using var signIn = await browser.SignInAsync(fixture.ConsoleKey, "/runs");
        var runs = await browser.Http.GetStringAsync("/runs", Ct);

        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        Assert.Equal("/runs", new Uri(browser.Http.BaseAddress!, signIn.Headers.Location!).PathAndQuery);
        Assert.Contains(">Runs</h1>", runs, StringComparison.Ordinal);
        Assert.Contains("Signed in (admin)", runs, StringComparison.Ordinal);
        // The key is sealed in the cookie, never sent back in a page.
        Assert.DoesNotContain(fixture.ConsoleKey, runs, StringComparison.Ordinal);
        Assert.DoesNotContain(fixture.ConsoleKey, browser.Cookies, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_key_stays_on_the_sign_in_page_with_the_reason()
    {
        using var browser = new Browser(fixture);

        using var signIn = await browser.SignInAsync(new string('x', 40), "/runs");
        var page = await signIn.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
        Assert.Contains("does not know this API key", page, StringComparison.Ordinal);
        Assert.DoesNotContain(browser.Cookies.Split(';', StringSplitOptions.RemoveEmptyEntries), c => c.Trim().StartsWith("console.auth", StringComparison.Ordinal));
    }

    /// <summary>Cookies, no automatic redirects: what a browser does, step by step.</summary>
    private sealed class Browser : IDisposable
    {
        private readonly HttpClientHandler _handler = new() { CookieContainer = new(), AllowAutoRedirect = false };
        private readonly Uri _address;

        public Browser(AppHostFixture fixture)
        {
            _address = fixture.App.GetEndpoint("console", "http");
            Http = new HttpClient(_handler) { BaseAddress = _address };
        }

        public HttpClient Http { get; }

        public string Cookies => _handler.CookieContainer.GetCookieHeader(_address);

        public async Task<HttpResponseMessage> SignInAsync(string key, string returnUrl)
        {
            var page = await Http.GetStringAsync($"/sign-in?returnUrl={Uri.EscapeDataString(returnUrl)}", Ct);
            var token = Token().Match(page).Groups[1].Value;
            using var form = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["_handler"] = "sign-in",
                ["__RequestVerificationToken"] = WebUtility.HtmlDecode(token),
                ["Input.ApiKey"] = key,
                ["Input.ReturnUrl"] = returnUrl,
            });
            return await Http.PostAsync("/sign-in", form, Ct);
        }

        public void Dispose()
        {
            Http.Dispose();
            _handler.Dispose();
        }
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex Token();
}
