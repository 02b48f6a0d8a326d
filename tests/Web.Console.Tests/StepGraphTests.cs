using System.Text.Json;
using Bunit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orchestration.Client;
using Web.Console.Components.Shared;
using Web.Console.Services;

namespace Web.Console.Tests;

/// <summary>The step graph of a run: levels top to bottom, parallel branches side by side, failures and attempts shown.</summary>
public sealed class StepGraphTests : BunitContext
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 5, 12, 0, 0, TimeSpan.Zero);

    public StepGraphTests() => Services.AddSingleton<TimeProvider>(new FakeTimeProvider(T0.AddMinutes(5)));

    private static StepRun Step(string id, string status, string[] dependsOn, int startSecond, int? endSecond, string? error = null) => new()
    {
        Id = id,
        Status = status,
        DependsOn = dependsOn,
        Attempts = 1,
        AgentId = $"agent-{id}",
        StartedAt = T0.AddSeconds(startSecond),
        EndedAt = endSecond is { } e ? T0.AddSeconds(e) : null,
        Error = error,
        Metadata = new WorkMetadata { Model = "gemini-2.5-flash", InputTokens = 100, OutputTokens = 20, TotalTokens = 120, CostUsd = 0.0012m },
        AttemptHistory = [new AttemptRun { Number = 1, AgentId = $"agent-{id}", StartedAt = T0.AddSeconds(startSecond), EndedAt = endSecond is { } f ? T0.AddSeconds(f) : null, Error = error }],
    };

    private static RunDetails Run(params StepRun[] steps) => new() { RunId = "run-1", WorkflowId = "team", Status = RunStatuses.Running, CreatedAt = T0, Steps = steps };

    [Fact]
    public void Parallel_branches_share_one_level_side_by_side_between_the_steps_they_wait_for()
    {
        var run = Run(
            Step("plan", RunStatuses.Succeeded, [], 0, 10),
            Step("qa", RunStatuses.Running, ["plan"], 10, null),
            Step("security", RunStatuses.Succeeded, ["plan"], 10, 30),
            Step("verdict", RunStatuses.Pending, ["qa", "security"], 0, null) with { StartedAt = null, AttemptHistory = [], Metadata = null });

        var cut = Render<StepGraph>(p => p.Add(g => g.Run, run));

        var levels = cut.FindAll("ol.graph > li.level");
        Assert.Equal(3, levels.Count);
        Assert.Equal(["plan"], levels[0].QuerySelectorAll("li.node").Select(n => n.GetAttribute("data-step")));
        Assert.Equal(["qa", "security"], levels[1].QuerySelectorAll("li.node").Select(n => n.GetAttribute("data-step")));
        Assert.Contains("parallel", levels[1].ClassList);
        Assert.Contains("2 in parallel", levels[1].TextContent, StringComparison.Ordinal);
        Assert.DoesNotContain("parallel", levels[0].ClassList);
        Assert.Equal(["verdict"], levels[2].QuerySelectorAll("li.node").Select(n => n.GetAttribute("data-step")));
        Assert.Contains("qa, security", levels[2].TextContent, StringComparison.Ordinal);
        Assert.Contains("status-running", levels[1].QuerySelector("li[data-step=qa]")!.ClassList);
        Assert.Contains("status-succeeded", levels[1].QuerySelector("li[data-step=security]")!.ClassList);
    }

    [Fact]
    public void A_failed_step_shows_its_error_its_failed_attempts_model_tokens_and_cost()
    {
        var failed = Step("code", RunStatuses.Failed, [], 0, 12, "model refused: quota exhausted") with
        {
            Attempts = 2,
            AttemptHistory =
            [
                new AttemptRun { Number = 1, AgentId = "coder", StartedAt = T0, EndedAt = T0.AddSeconds(5), Error = "timeout" },
                new AttemptRun { Number = 2, AgentId = "coder", StartedAt = T0.AddSeconds(6), EndedAt = T0.AddSeconds(12), Error = "model refused: quota exhausted" },
            ],
        };

        var cut = Render<StepGraph>(p => p.Add(g => g.Run, Run(failed) with { Status = RunStatuses.Failed, EndedAt = T0.AddSeconds(12) }));

        var node = cut.Find("li[data-step=code]");
        Assert.Contains("status-failed", node.ClassList);
        Assert.Equal("FAILED", node.QuerySelector(".status")!.TextContent);
        Assert.Equal("model refused: quota exhausted", node.QuerySelector("p.error")!.TextContent);
        var rows = node.QuerySelectorAll("details.attempts tbody tr");
        Assert.Equal(2, rows.Length);
        Assert.All(rows, r => Assert.Contains("failed", r.ClassList));
        Assert.Contains("timeout", rows[0].TextContent, StringComparison.Ordinal);
        Assert.Contains("gemini-2.5-flash", node.TextContent, StringComparison.Ordinal);
        Assert.Contains("120 (100 in, 20 out)", node.TextContent, StringComparison.Ordinal);
        Assert.Contains("$0.0012", node.TextContent, StringComparison.Ordinal);
        Assert.Contains("12.0 s", node.TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public void A_step_that_starts_at_the_very_end_of_the_run_draws_a_bar_that_still_fits()
    {
        // The last step of a finished run, started 0.2% of the run's time before its end: the bar's minimum width
        // (0.5%) does not fit after it, and the page threw (found by the browser tier: the circuit died).
        var run = Run(Step("plan", RunStatuses.Succeeded, [], 0, 990), Step("merge", RunStatuses.Succeeded, ["plan"], 998, 1000))
            with { Status = RunStatuses.Succeeded, EndedAt = T0.AddSeconds(1000) };

        var cut = Render<StepGraph>(p => p.Add(g => g.Run, run));

        Assert.Equal("margin-left:99.8%;width:0.2%", cut.Find("li[data-step=merge] .bar span").GetAttribute("style"));
        Assert.Equal("margin-left:0%;width:99%", cut.Find("li[data-step=plan] .bar span").GetAttribute("style"));
    }

    [Fact]
    public void A_waiting_approval_step_offers_approve_and_reject_that_report_the_decision()
    {
        (StepRun Step, bool Approved)? decision = null;
        var waiting = Step("approve-design", RunStatuses.Waiting, [], 0, null) with { WaitingFor = "approve-design" };

        var cut = Render<StepGraph>(p => p
            .Add(g => g.Run, Run(waiting))
            .Add(g => g.OnApprove, (Action<(StepRun, bool)>)(d => decision = d)));
        cut.FindAll("button").Single(b => b.TextContent == "Reject").Click();

        Assert.Equal(("approve-design", false), (decision!.Value.Step.Id, decision.Value.Approved));
    }

    [Fact]
    public void A_definition_without_depends_on_is_a_sequence_and_its_steps_show_agent_capability_and_kind()
    {
        var workflow = new WorkflowDefinition
        {
            Id = "team",
            Steps =
            [
                new StepDefinition { Id = "analysis", Capability = "request-analysis", MaxAttempts = 3, OnFail = "RETRY" },
                new StepDefinition { Id = "review", Agent = "reviewer" },
                new StepDefinition { Id = "gate", DependsOn = ["analysis"], Extra = new() { ["type"] = JsonSerializer.SerializeToElement("approval") } },
            ],
        };

        var cut = Render<StepGraph>(p => p.Add(g => g.Workflow, workflow));

        var levels = cut.FindAll("ol.graph > li.level");
        Assert.Equal(2, levels.Count);
        Assert.Equal(["review", "gate"], levels[1].QuerySelectorAll("li.node").Select(n => n.GetAttribute("data-step")));
        Assert.Contains("request-analysis", cut.Find("li[data-step=analysis]").TextContent, StringComparison.Ordinal);
        Assert.Contains("up to 3, on failure RETRY", cut.Find("li[data-step=analysis]").TextContent, StringComparison.Ordinal);
        Assert.Contains("approval", cut.Find("li[data-step=gate]").TextContent, StringComparison.Ordinal);
        Assert.Empty(cut.FindAll(".status"));
    }

    [Fact]
    public void A_for_each_step_draws_each_item_with_its_status_agent_attempts_error_and_output()
    {
        var reviews = Step("review-files", RunStatuses.Running, [], 0, null) with
        {
            Items =
            [
                new StepItemRun { Index = 0, Status = RunStatuses.Succeeded, Attempts = 1, AgentId = "reviewer", EndedAt = T0.AddSeconds(4), Output = JsonSerializer.SerializeToElement(new { file = "a.cs", verdict = "ok" }) },
                new StepItemRun { Index = 1, Status = RunStatuses.Failed, Attempts = 3, AgentId = "reviewer", Error = "schema mismatch at /verdict" },
                new StepItemRun { Index = 2, Status = RunStatuses.Running, Attempts = 1, AgentId = "reviewer-2" },
            ],
        };

        var cut = Render<StepGraph>(p => p.Add(g => g.Run, Run(Step("plan", RunStatuses.Succeeded, [], 0, 1), reviews)));

        var node = cut.Find("li[data-step=review-files]");
        var items = node.QuerySelectorAll("ol.item-list > li.item");
        Assert.Equal(["0", "1", "2"], items.Select(i => i.GetAttribute("data-item")));
        Assert.Equal("Items of review-files", node.QuerySelector("ol.item-list")!.GetAttribute("aria-label"));
        Assert.Equal("3 items: 1 SUCCEEDED, 1 FAILED, 1 RUNNING", node.QuerySelector(".items-note")!.TextContent);
        Assert.Equal(["status-succeeded", "status-failed", "status-running"], items.Select(i => i.ClassList.Single(c => c.StartsWith("status-", StringComparison.Ordinal))));
        Assert.Equal(["SUCCEEDED", "FAILED", "RUNNING"], items.Select(i => i.QuerySelector(".status")!.TextContent));
        Assert.Contains("reviewer-2", items[2].TextContent, StringComparison.Ordinal);
        Assert.Equal(["reviewer", "3"], items[1].QuerySelectorAll("dd").Select(d => d.TextContent));
        Assert.Equal("schema mismatch at /verdict", items[1].QuerySelector("p.error")!.TextContent);
        Assert.Contains("\"verdict\": \"ok\"", items[0].QuerySelector("pre")!.TextContent, StringComparison.Ordinal);
        Assert.Null(items[1].QuerySelector("pre"));
        // A step that is not a forEach draws no item list.
        Assert.Empty(cut.Find("li[data-step=plan]").QuerySelectorAll("ol.item-list"));
    }

    [Fact]
    public void An_item_of_a_for_each_workflow_step_links_to_its_child_run()
    {
        var stops = Step("stops", RunStatuses.Running, [], 0, null) with
        {
            Items =
            [
                new StepItemRun { Index = 0, Status = RunStatuses.Succeeded, Attempts = 1, ChildRunId = "run-c0" },
                new StepItemRun { Index = 1, Status = RunStatuses.Running, Attempts = 2, ChildRunId = "run c1" },
                new StepItemRun { Index = 2, Status = RunStatuses.Pending },
            ],
        };

        var cut = Render<StepGraph>(p => p.Add(g => g.Run, Run(stops)));

        var items = cut.Find("li[data-step=stops]").QuerySelectorAll("ol.item-list > li.item");
        Assert.Equal("runs/run-c0", items[0].QuerySelector(".child-run a")!.GetAttribute("href"));
        Assert.Equal("runs/run%20c1", items[1].QuerySelector(".child-run a")!.GetAttribute("href"));
        Assert.Equal("run c1", items[1].QuerySelector(".child-run a")!.TextContent);
        Assert.Null(items[2].QuerySelector(".child-run"));
    }

    [Fact]
    public void A_dependency_cycle_in_a_hand_made_definition_still_lays_out()
    {
        var workflow = new WorkflowDefinition
        {
            Steps = [new StepDefinition { Id = "a", DependsOn = ["b"] }, new StepDefinition { Id = "b", DependsOn = ["a"] }],
        };

        var levels = StepLayout.Levels(workflow, null);

        Assert.Equal(["a", "b"], levels.SelectMany(l => l).Select(n => n.Id).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Arabic_output_text_reads_right_to_left_beside_the_json()
    {
        var output = JsonSerializer.SerializeToElement(new { text = "مرحبا بالعالم، هذا نص عربي طويل بما يكفي ليظهر كنص" });

        var cut = Render<JsonView>(p => p.Add(v => v.Label, "Output").Add(v => v.Value, output));

        var text = cut.Find(".text-block p");
        Assert.Equal("auto", text.GetAttribute("dir"));
        Assert.StartsWith("مرحبا", text.TextContent, StringComparison.Ordinal);
        Assert.Equal("ltr", cut.Find("pre").GetAttribute("dir"));
        Assert.Contains("مرحبا", cut.Find("pre").TextContent, StringComparison.Ordinal);
    }
}
