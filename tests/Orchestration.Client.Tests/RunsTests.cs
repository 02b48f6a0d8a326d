using System.Net;
using System.Text.Json;

namespace Orchestration.Client.Tests;

public sealed class RunsTests(ServicesFixture services)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private OrchestrationClient Client => services.Client;

    private async Task<string> WorkflowAsync(params string[] steps)
    {
        var id = $"wf-{Guid.NewGuid():N}"[..12];
        await Client.PutWorkflowAsync(new WorkflowDefinition
        {
            Id = id,
            Steps = [.. steps.Select(s => new StepDefinition { Id = s, Agent = EchoAgent.Id, TimeoutMs = 60_000 })],
        }, Ct);
        return id;
    }

    private static JsonElement Json(object value) => JsonSerializer.SerializeToElement(value);

    [Fact]
    public async Task A_run_streams_its_events_live_until_it_ends_and_reads_back_with_outputs_and_usage()
    {
        var workflow = await WorkflowAsync("first", "second");

        var started = await Client.StartRunAsync(workflow, Json(new { text = "hello" }), cancellationToken: Ct);
        var events = new List<RunEvent>();
        await foreach (var e in Client.StreamRunEventsAsync(started.RunId, cancellationToken: Ct))
        {
            events.Add(e);
        }

        var run = await Client.GetRunAsync(started.RunId, Ct);

        Assert.Equal(RunEventTypes.WorkflowStarted, events[0].Type);
        Assert.Equal(RunEventTypes.WorkflowCompleted, events[^1].Type);
        Assert.Contains(events, e => e.Type == "step_completed" && e.StepId == "second");
        Assert.All(events, e => Assert.False(string.IsNullOrEmpty(e.EventId)));
        Assert.Equal(RunStatuses.Succeeded, run!.Status);
        Assert.True(run.IsFinal);
        Assert.Equal(["first", "second"], run.Steps.Select(s => s.Id));
        Assert.All(run.Steps, s => Assert.Equal(RunStatuses.Succeeded, s.Status));
        Assert.Equal("hello", run.Steps[0].Output!.Value.GetProperty("echo").GetProperty("text").GetString());
        Assert.Equal("echo-model", run.Steps[0].Metadata!.Model);
        Assert.Equal(EchoAgent.Id, Assert.Single(run.Steps[0].AttemptHistory).AgentId);
        Assert.Equal(14, run.Usage!.TotalTokens);

        // Resuming after the last event of an ended run gives nothing more.
        Assert.Empty(await Client.StreamRunEventsAsync(started.RunId, events[^1].EventId, Ct).ToListAsync(Ct));
        // Resuming from the middle gives the rest.
        var rest = await Client.StreamRunEventsAsync(started.RunId, events[1].EventId, Ct).ToListAsync(Ct);
        Assert.Equal(events.Skip(2).Select(e => e.EventId), rest.Select(e => e.EventId));
    }

    [Fact]
    public async Task A_start_with_a_wait_returns_the_ended_run_and_the_same_key_gives_the_same_run()
    {
        var workflow = await WorkflowAsync("only");

        var first = await Client.StartRunAsync(workflow, Json(new { n = 1 }), "key-1", TimeSpan.FromSeconds(30), Ct);
        var again = await Client.StartRunAsync(workflow, Json(new { n = 1 }), "key-1", cancellationToken: Ct);
        var conflict = await Assert.ThrowsAsync<ApiException>(() => Client.StartRunAsync(workflow, Json(new { n = 2 }), "key-1", cancellationToken: Ct));

        Assert.Equal(RunStatuses.Succeeded, first.Status);
        Assert.Equal(first.RunId, first.Run!.RunId);
        Assert.Equal("key-1", first.Run.IdempotencyKey);
        Assert.Equal(first.RunId, again.RunId);
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
    }

    [Fact]
    public async Task Bad_starts_are_api_exceptions_with_the_field_or_404()
    {
        var workflow = await WorkflowAsync("only");

        var badInput = await Assert.ThrowsAsync<ApiException>(() => Client.StartRunAsync(workflow, Json(new[] { 1, 2 }), cancellationToken: Ct));
        var badKey = await Assert.ThrowsAsync<ApiException>(() => Client.StartRunAsync(workflow, Json(new { }), "", cancellationToken: Ct));
        var unknown = await Assert.ThrowsAsync<ApiException>(() => Client.StartRunAsync("no-such-workflow", cancellationToken: Ct));

        Assert.Equal(HttpStatusCode.BadRequest, badInput.StatusCode);
        Assert.NotEmpty(badInput.Errors);
        Assert.True(badKey.Errors.ContainsKey("idempotencyKey"));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("Unknown workflow", unknown.Title);
    }

    [Fact]
    public async Task Runs_list_newest_first_by_workflow_and_status_in_pages()
    {
        var workflow = await WorkflowAsync("only");
        var runs = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            runs.Add((await Client.StartRunAsync(workflow, Json(new { i }), wait: TimeSpan.FromSeconds(30), cancellationToken: Ct)).RunId);
        }

        var page1 = await Client.ListRunsAsync(new RunQuery { WorkflowId = workflow, Limit = 2 }, Ct);
        var page2 = await Client.ListRunsAsync(new RunQuery { WorkflowId = workflow, Limit = 2, Cursor = page1.NextCursor }, Ct);
        var succeeded = await Client.ListRunsAsync(new RunQuery { WorkflowId = workflow, Status = RunStatuses.Succeeded }, Ct);
        var failed = await Client.ListRunsAsync(new RunQuery { WorkflowId = workflow, Status = RunStatuses.Failed }, Ct);

        Assert.Equal(Enumerable.Reverse(runs), page1.Items.Concat(page2.Items).Select(r => r.RunId));
        Assert.Null(page2.NextCursor);
        Assert.Equal(3, succeeded.Items.Count);
        Assert.Empty(failed.Items);
        Assert.All(page1.Items, r => Assert.Equal(workflow, r.WorkflowId));
    }

    [Fact]
    public async Task A_running_run_is_cancelled_its_stream_ends_and_a_second_cancel_is_409()
    {
        var workflow = await WorkflowAsync("held");
        var started = await Client.StartRunAsync(workflow, Json(new { hold = true }), cancellationToken: Ct);
        await TestSupport.Eventually.TrueAsync(async () => (await Client.GetRunAsync(started.RunId, Ct))!.Steps[0].Status == RunStatuses.Running);

        var cancelled = await Client.CancelRunAsync(started.RunId, Ct);
        var events = await Client.StreamRunEventsAsync(started.RunId, cancellationToken: Ct).ToListAsync(Ct);
        var again = await Assert.ThrowsAsync<ApiException>(() => Client.CancelRunAsync(started.RunId, Ct));

        Assert.Equal(started.RunId, cancelled.RunId);
        Assert.Equal(RunEventTypes.WorkflowCancelled, events[^1].Type);
        Assert.Equal(RunStatuses.Cancelled, (await Client.GetRunAsync(started.RunId, Ct))!.Status);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
    }

    [Fact]
    public async Task Unknown_runs_read_as_null_and_their_streams_signals_and_cancels_are_404()
    {
        Assert.Null(await Client.GetRunAsync("no-such-run", Ct));
        var stream = await Assert.ThrowsAsync<ApiException>(async () => await Client.StreamRunEventsAsync("no-such-run", cancellationToken: Ct).ToListAsync(Ct));
        var signal = await Assert.ThrowsAsync<ApiException>(() => Client.SignalAsync("no-such-run", "approve", cancellationToken: Ct));
        var cancel = await Assert.ThrowsAsync<ApiException>(() => Client.CancelRunAsync("no-such-run", Ct));

        Assert.Equal(HttpStatusCode.NotFound, stream.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, signal.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, cancel.StatusCode);
    }

    [Fact]
    public async Task A_run_reads_each_steps_resolved_dependencies_and_an_approval_waits_for_its_signal()
    {
        var id = $"wf-{Guid.NewGuid():N}"[..12];
        StepDefinition Echo(string step, params string[]? dependsOn) => new() { Id = step, Agent = EchoAgent.Id, TimeoutMs = 60_000, DependsOn = dependsOn };
        await Client.PutWorkflowAsync(new WorkflowDefinition
        {
            Id = id,
            Steps =
            [
                Echo("plan", null),
                Echo("left", "plan"),
                Echo("right", "plan"),
                new StepDefinition { Id = "approve", DependsOn = ["left", "right"], Extra = new() { ["type"] = Json("approval") } },
                Echo("after", null),
            ],
        }, Ct);

        var started = await Client.StartRunAsync(id, Json(new { text = "x" }), cancellationToken: Ct);
        await TestSupport.Eventually.TrueAsync(async () => (await Client.GetRunAsync(started.RunId, Ct))!.Steps[3].Status == RunStatuses.Waiting);
        var waiting = (await Client.GetRunAsync(started.RunId, Ct))!;
        await Client.SignalAsync(started.RunId, waiting.Steps[3].WaitingFor!, Json(new { approved = true }), Ct);
        await Client.StreamRunEventsAsync(started.RunId, cancellationToken: Ct).ToListAsync(Ct);
        var run = (await Client.GetRunAsync(started.RunId, Ct))!;

        Assert.Equal([[], ["plan"], ["plan"], ["left", "right"], ["approve"]], run.Steps.Select(s => s.DependsOn!.ToArray()));
        Assert.Equal("approve", waiting.Steps[3].WaitingFor);
        Assert.Null(run.Steps[3].WaitingFor);
        Assert.Null(run.Steps[0].Items);
        Assert.All(run.Steps, s => Assert.False(s.Extra?.ContainsKey("dependsOn") ?? false));
        Assert.Equal(RunStatuses.Succeeded, run.Status);
    }

    [Fact]
    public async Task A_workflow_step_reads_its_child_run_and_the_child_its_parent()
    {
        var child = await WorkflowAsync("inner");
        var id = $"wf-{Guid.NewGuid():N}"[..12];
        await Client.PutWorkflowAsync(new WorkflowDefinition
        {
            Id = id,
            Steps = [new StepDefinition { Id = "sub", TimeoutMs = 60_000, Extra = new() { ["type"] = Json("workflow"), ["workflow"] = Json(child) } }],
        }, Ct);

        var started = await Client.StartRunAsync(id, Json(new { text = "x" }), cancellationToken: Ct);
        await Client.StreamRunEventsAsync(started.RunId, cancellationToken: Ct).ToListAsync(Ct);
        var run = (await Client.GetRunAsync(started.RunId, Ct))!;
        var childRun = (await Client.GetRunAsync(run.Steps[0].ChildRunId!, Ct))!;

        Assert.Equal(RunStatuses.Succeeded, run.Status);
        Assert.Equal(0, run.Depth);
        Assert.Null(run.Parent);
        Assert.Equal(child, childRun.WorkflowId);
        Assert.Equal(new ParentRunRef(started.RunId, "sub", 1), childRun.Parent);
        Assert.Equal(1, childRun.Depth);
        Assert.Equal(childRun.Output!.Value.GetRawText(), run.Steps[0].Output!.Value.GetRawText());
        Assert.False(run.Steps[0].Extra?.ContainsKey("childRunId") ?? false);
    }

    [Fact]
    public async Task Each_item_of_a_for_each_workflow_step_reads_its_child_run()
    {
        var child = await WorkflowAsync("inner");
        var id = $"wf-{Guid.NewGuid():N}"[..12];
        await Client.PutWorkflowAsync(new WorkflowDefinition
        {
            Id = id,
            Steps = [new StepDefinition
            {
                Id = "each", TimeoutMs = 60_000, Input = Json(new { text = "{{item}}" }),
                Extra = new() { ["type"] = Json("workflow"), ["workflow"] = Json(child), ["forEach"] = Json(new { items = "{{input.list}}" }) },
            }],
        }, Ct);

        var started = await Client.StartRunAsync(id, Json(new { list = new[] { "a", "b" } }), cancellationToken: Ct);
        await Client.StreamRunEventsAsync(started.RunId, cancellationToken: Ct).ToListAsync(Ct);
        var run = (await Client.GetRunAsync(started.RunId, Ct))!;
        var items = run.Steps[0].Items!;

        Assert.Equal(RunStatuses.Succeeded, run.Status);
        Assert.Equal(2, items.Count);
        Assert.NotEqual(items[0].ChildRunId, items[1].ChildRunId);
        for (var i = 0; i < items.Count; i++)
        {
            var childRun = (await Client.GetRunAsync(items[i].ChildRunId!, Ct))!;
            Assert.Equal(new ParentRunRef(started.RunId, $"each[{i}]", 1), childRun.Parent);
            Assert.False(items[i].Extra?.ContainsKey("childRunId") ?? false);
        }
    }
}
