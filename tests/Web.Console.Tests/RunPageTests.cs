using System.Net;
using System.Security.Claims;
using Bunit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Web.Console.Components.Pages;
using Web.Console.Services;

namespace Web.Console.Tests;

/// <summary>
/// The run page with its live event feed: each run's event stream is held open by the test (<see cref="LiveEventStream"/>),
/// which writes the events it wants when it wants them.
/// </summary>
public sealed class RunPageTests : BunitContext
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private readonly StubApi _api = new();
    private readonly Dictionary<string, Func<HttpResponseMessage>> _routes = new(StringComparer.Ordinal);

    public RunPageTests()
    {
        _api.Answer = request => _routes.TryGetValue($"{request.Method} {request.RequestUri!.AbsolutePath}", out var answer)
            ? answer()
            : StubApi.Json(HttpStatusCode.NotFound, """{"title":"Not found","status":404}""");
        Services.AddSingleton<IHttpClientFactory>(_api);
        Services.AddScoped<ApiClients>();
        Services.AddScoped<RunEventFeed>();
        Services.AddSingleton<TimeProvider>(new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero)));
        var authorization = AddAuthorization();
        authorization.SetAuthorized("user");
        authorization.SetRoles("client");
        authorization.SetClaims(new Claim(ConsoleClaims.ApiKey, "user-key-0123456789abcdef"));
    }

    // A run of its own workflow with one step, and its event stream.
    private LiveEventStream Serve(string runId, string workflowId, string stepId, string runJsonExtra = "", string stepJsonExtra = "", string stepDefinitionExtra = "")
    {
        var events = new LiveEventStream();
        _routes[$"GET /api/runs/{runId}"] = () => StubApi.Json(HttpStatusCode.OK, $$"""
            {"runId":"{{runId}}","workflowId":"{{workflowId}}","status":"RUNNING","createdAt":"2026-12-05T11:59:00Z","input":{"request":"x"}{{runJsonExtra}},
             "steps":[{"id":"{{stepId}}","status":"RUNNING","attempts":1,"startedAt":"2026-12-05T11:59:01Z"{{stepJsonExtra}}}]}
            """);
        _routes[$"GET /api/workflows/{workflowId}"] = () => StubApi.Json(HttpStatusCode.OK,
            $$"""{"id":"{{workflowId}}","steps":[{"id":"{{stepId}}"{{stepDefinitionExtra}}}]}""");
        _routes[$"GET /api/runs/{runId}/events"] = events.Open;
        return events;
    }

    private static List<string> Events(IRenderedComponent<RunDetail> cut) =>
        cut.FindAll(".event-list li").Select(e => e.TextContent.Trim()).ToList();

    [Fact]
    public async Task Going_to_another_run_shows_that_run_and_follows_its_events_and_stops_the_first_runs_feed()
    {
        var a = Serve("run-a", "alpha", "draft");
        var b = Serve("run-b", "beta", "review");
        var cut = Render<RunDetail>(p => p.Add(r => r.RunId, "run-a"));
        await a.SendAsync("run-a", "step_started", "draft");
        cut.WaitForAssertion(() => Assert.Contains(Events(cut), e => e.Contains("draft", StringComparison.Ordinal)), Wait);

        // Back/forward or a link from one run to another: Blazor keeps the page component and sets its RunId.
        cut.Render(p => p.Add(r => r.RunId, "run-b"));
        int requestsBefore;
        lock (_api.Requests)
        {
            requestsBefore = _api.Requests.Count;
        }

        await a.SendAsync("run-a", "step_completed", "draft");
        await b.SendAsync("run-b", "step_started", "review");

        cut.WaitForAssertion(() =>
        {
            Assert.Contains("beta", cut.Find("h1").TextContent, StringComparison.Ordinal);
            Assert.Single(cut.FindAll("li.node[data-step=review]"));
            Assert.Empty(cut.FindAll("li.node[data-step=draft]"));
            Assert.Contains("(live)", cut.Find("#events-title").TextContent, StringComparison.Ordinal);
            Assert.Single(Events(cut), e => e.Contains("step_started", StringComparison.Ordinal) && e.Contains("review", StringComparison.Ordinal));
        }, Wait);

        // The first run's feed let go of its stream: nothing of run-a can arrive any more.
        await a.Closed.WaitAsync(Wait, Xunit.TestContext.Current.CancellationToken);
        Assert.All(Events(cut), e => Assert.DoesNotContain("draft", e, StringComparison.Ordinal));
        Assert.Equal(1, a.Opened);
        Assert.Equal(1, b.Opened);
        lock (_api.Requests)
        {
            Assert.DoesNotContain(_api.Requests.Skip(requestsBefore), r => r.Path.StartsWith("/api/runs/run-a", StringComparison.Ordinal));
        }
    }
}
