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

    [Fact]
    public void A_workflow_step_links_to_its_child_runs_and_a_child_run_to_its_parent()
    {
        Serve("run-p", "release", "review",
            stepJsonExtra: """
                ,"childRunId":"run-c","attemptHistory":[
                  {"number":1,"startedAt":"2026-12-05T11:59:01Z","endedAt":"2026-12-05T11:59:05Z","error":"the child run failed","childRunId":"run-c0"},
                  {"number":2,"startedAt":"2026-12-05T11:59:06Z","childRunId":"run-c"}]
                """,
            stepDefinitionExtra: ""","type":"workflow","workflow":"code-review" """);
        Serve("run-c", "code-review", "lint", runJsonExtra: ""","parent":{"runId":"run-p","stepId":"review","attempt":2},"depth":1""");

        var cut = Render<RunDetail>(p => p.Add(r => r.RunId, "run-p"));

        var step = cut.Find("li.node[data-step=review]");
        Assert.Equal("runs/run-c", step.QuerySelector(".child-run a")!.GetAttribute("href"));
        Assert.Equal("workflows/code-review", step.QuerySelector("a[href^=workflows]")!.GetAttribute("href"));
        var attempts = step.QuerySelectorAll("details.attempts tbody tr");
        Assert.Equal(["runs/run-c0", "runs/run-c"], attempts.Select(r => r.QuerySelector("td:last-child a")!.GetAttribute("href")));
        Assert.Empty(cut.FindAll(".parent-run"));

        // Following the link: the same page, set to the child run.
        cut.Render(p => p.Add(r => r.RunId, "run-c"));

        cut.WaitForAssertion(() => Assert.Contains("code-review", cut.Find("h1").TextContent, StringComparison.Ordinal), Wait);
        var parent = cut.Find(".parent-run");
        Assert.Equal("runs/run-p", parent.QuerySelector("a")!.GetAttribute("href"));
        Assert.Contains("step review (attempt 2)", parent.TextContent, StringComparison.Ordinal);
        Assert.Empty(cut.FindAll(".child-run"));
    }
}
