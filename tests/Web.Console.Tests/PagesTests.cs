using System.Net;
using System.Security.Claims;
using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Web.Console.Components.Pages;
using Web.Console.Services;

namespace Web.Console.Tests;

/// <summary>The pages against orchestration-api and ai-gateway answered in memory, signed in with a client or admin key.</summary>
public sealed class PagesTests : BunitContext
{
    private const string Key = "user-key-0123456789abcdef";
    private readonly StubApi _api = new();
    private readonly Dictionary<string, (HttpStatusCode Status, string Json)> _routes = new(StringComparer.Ordinal);

    public PagesTests()
    {
        _api.Answer = request =>
        {
            var route = $"{request.Method} {request.RequestUri!.AbsolutePath}";
            return _routes.TryGetValue(route, out var answer)
                ? StubApi.Json(answer.Status, answer.Json)
                : StubApi.Json(HttpStatusCode.NotFound, """{"title":"Not found","status":404}""");
        };
        Services.AddSingleton<IHttpClientFactory>(_api);
        Services.AddScoped<ApiClients>();
        Services.AddSingleton<TimeProvider>(new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero)));
        _routes["GET /api/workflows"] = (HttpStatusCode.OK, """[{"id":"software-team","description":"The team","steps":[{"id":"analysis"}]}]""");
    }

    private void SignIn(params string[] roles)
    {
        var authorization = AddAuthorization();
        authorization.SetAuthorized("user");
        authorization.SetRoles(roles);
        authorization.SetClaims(new Claim(ConsoleClaims.ApiKey, Key));
    }

    [Fact]
    public void Runs_lists_newest_first_with_links_and_filters_by_status()
    {
        SignIn("client");
        _routes["GET /api/runs"] = (HttpStatusCode.OK, """
            {"items":[{"runId":"r-2","workflowId":"software-team","status":"RUNNING","createdAt":"2026-12-05T11:59:00Z"},
                      {"runId":"r-1","workflowId":"software-team","status":"FAILED","createdAt":"2026-12-05T11:00:00Z","failedStep":"code"}],
             "nextCursor":"c-2"}
            """);

        var cut = Render<Runs>();
        cut.FindAll("select")[1].Change(Orchestration.Client.RunStatuses.Failed);

        Assert.Equal(["r-2", "r-1"], cut.FindAll("tr[data-run]").Select(r => r.GetAttribute("data-run")));
        Assert.Equal("runs/r-2", cut.Find("tr[data-run=r-2] a").GetAttribute("href"));
        Assert.Contains("code", cut.Find("tr[data-run=r-1]").TextContent, StringComparison.Ordinal);
        Assert.False(cut.FindAll(".pager button")[1].HasAttribute("disabled"));
        Assert.Contains(_api.Requests, r => r.Path.Contains("status=FAILED", StringComparison.Ordinal) && r.Key == Key);
    }

    [Fact]
    public void Start_a_run_shows_bad_json_by_field_and_calls_nothing()
    {
        SignIn("client");
        var cut = RenderStart();

        cut.Find("#workflow").Change("software-team");
        cut.Find("#input").Change("{ \"request\": ");
        cut.Find("form").Submit();

        Assert.Contains("Not valid JSON", cut.Find("#input-error").TextContent, StringComparison.Ordinal);
        Assert.DoesNotContain(_api.Requests, r => r.Method == HttpMethod.Post);
    }

    [Fact]
    public void Start_a_run_shows_the_services_field_errors_under_the_input()
    {
        SignIn("client");
        _routes["POST /api/workflows/software-team/runs"] = (HttpStatusCode.BadRequest,
            """{"title":"Invalid input","status":400,"errors":{"input.request":["The field is required."]}}""");
        var cut = RenderStart();

        cut.Find("#workflow").Change("software-team");
        cut.Find("#input").Change("{}");
        cut.Find("form").Submit();

        cut.WaitForAssertion(() => Assert.Contains("input.request: The field is required.", cut.Find("#input-error").TextContent, StringComparison.Ordinal));
    }

    // The page runs interactively on the server (its Start button waits for that); false: prerendered, not yet live.
    private IRenderedComponent<StartRun> RenderStart(bool interactive = true)
    {
        SetRendererInfo(new Microsoft.AspNetCore.Components.RendererInfo(interactive ? "Server" : "Static", interactive));
        return Render<StartRun>();
    }

    [Fact]
    public void Start_waits_for_the_page_to_run_interactively_so_a_click_before_then_sends_no_plain_form()
    {
        SignIn("client");
        var cut = RenderStart(interactive: false);

        Assert.True(cut.Find("form.start button[type=submit]").HasAttribute("disabled"));
    }

    [Fact]
    public void Start_a_run_opens_the_new_run()
    {
        SignIn("client");
        _routes["POST /api/workflows/software-team/runs"] = (HttpStatusCode.Accepted, """{"runId":"r-9","status":"PENDING"}""");
        var cut = RenderStart();

        cut.Find("#workflow").Change("software-team");
        cut.Find("#idempotency-key").Change("once");
        cut.Find("form").Submit();

        cut.WaitForAssertion(() => Assert.EndsWith("/runs/r-9", Services.GetRequiredService<NavigationManager>().Uri, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("", "{}", "workflow")]
    [InlineData("w", "[1]", "input")]
    [InlineData("w", "{", "input")]
    public void Start_input_is_checked_before_sending(string workflow, string input, string field) =>
        Assert.True(StartRun.Validate(workflow, input, out _).ContainsKey(field));

    [Fact]
    public void The_gateway_page_shows_models_usage_and_no_dead_letters_to_a_client_key()
    {
        SignIn("client");
        _routes["GET /v1/gateway/models"] = (HttpStatusCode.OK, """
            {"defaultModel":"gemini-2.5-flash","liveProviders":[],"models":[{"id":"gemini-2.5-flash","provider":"gemini","servedBy":"offline","circuit":"open",
             "bucket":{"remaining":3,"capacity":10,"dailyRemaining":90,"dailyLimit":100},"fallbacks":["gemini-2.5-flash-lite"]}]}
            """);
        _routes["GET /v1/usage"] = (HttpStatusCode.OK, """{"date":"2026-12-05","totalRequests":7,"totalCostUsd":0.5,"models":[{"model":"gemini-2.5-flash","requests":7,"inputTokens":70,"outputTokens":30,"costUsd":0.5}]}""");

        var cut = Render<Gateway>();

        var model = cut.Find("tr[data-model='gemini-2.5-flash']");
        Assert.Contains("3 / 10", model.TextContent, StringComparison.Ordinal);
        Assert.Contains("90 left of 100", model.TextContent, StringComparison.Ordinal);
        Assert.Contains("status-failed", model.QuerySelector(".status")!.ClassList);
        Assert.Equal(3, cut.FindAll("figure.chart").Count);
        Assert.Contains("need a key with the admin role", cut.Markup, StringComparison.Ordinal);
        Assert.DoesNotContain(_api.Requests, r => r.Path.StartsWith("/api/dead-letters", StringComparison.Ordinal));
    }

    [Fact]
    public void An_admin_replays_a_dead_letter_from_the_gateway_page()
    {
        SignIn("client", "admin");
        _routes["GET /v1/gateway/models"] = (HttpStatusCode.OK, """{"defaultModel":"m","liveProviders":[],"models":[]}""");
        _routes["GET /v1/usage"] = (HttpStatusCode.OK, """{"date":"2026-12-05","models":[]}""");
        _routes["GET /api/dead-letters"] = (HttpStatusCode.OK, """{"topics":[{"topic":"agent.coder","count":1}]}""");
        _routes["GET /api/dead-letters/agent.coder"] = (HttpStatusCode.OK, """
            {"topic":"agent.coder","count":1,"next":null,"items":[{"id":"1-0","reason":"max-deliveries","detail":"gave up","group":"g","consumer":"c",
             "originalEntryId":"0-1","deliveryCount":5,"deadLetteredAt":"2026-12-05T11:00:00Z","messageId":"m-1","envelope":null}]}
            """);
        _routes["POST /api/dead-letters/agent.coder/1-0/replay"] = (HttpStatusCode.OK, """{"topic":"agent.coder","deadLetterId":"1-0","entryId":"5-0"}""");
        var cut = Render<Gateway>();

        cut.FindAll("ul.topics button").Single().Click();
        cut.Find("tr[data-dead-letter='1-0'] button").Click();

        cut.WaitForAssertion(() => Assert.Contains("Replayed 1-0 as entry 5-0", cut.Find("[role=status]").TextContent, StringComparison.Ordinal));
        Assert.Contains(_api.Requests, r => r.Method == HttpMethod.Post && r.Path == "/api/dead-letters/agent.coder/1-0/replay" && r.Key == Key);
    }

    [Fact]
    public void Agents_and_workflows_list_what_the_service_has()
    {
        SignIn("client");
        _routes["GET /api/agents"] = (HttpStatusCode.OK, """[{"id":"coder","name":"Coder","capabilities":["code"],"topic":"agent.coder","status":"active","lastHeartbeatAt":"2026-12-05T11:59:00Z"}]""");
        _routes["GET /api/workflows/software-team"] = (HttpStatusCode.OK, """{"id":"software-team","version":"2","steps":[{"id":"a"},{"id":"b","dependsOn":[]}]}""");
        _routes["GET /api/workflows/software-team/versions"] = (HttpStatusCode.OK, """[{"version":1},{"version":2}]""");

        var agents = Render<Agents>();
        var list = Render<Workflows>();
        var one = Render<Workflows>(p => p.Add(w => w.WorkflowId, "software-team"));

        Assert.Contains("status-active", agents.Find("tr[data-agent=coder] .status").ClassList);
        Assert.Contains("2026-12-05 11:59:00 UTC", agents.Find("tr[data-agent=coder]").TextContent, StringComparison.Ordinal);
        Assert.Equal("workflows/software-team", list.Find("[data-workflow=software-team] h2 a").GetAttribute("href"));
        Assert.Equal(2, one.FindAll("select option").Count);
        Assert.Equal(["a", "b"], one.FindAll("li.level").Single().QuerySelectorAll("li.node").Select(n => n.GetAttribute("data-step")));
    }
}
