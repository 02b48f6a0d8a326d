using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using StackExchange.Redis;
using TestSupport;
using static Orchestration.Api.Tests.Integration.OrchestrationClient;

namespace Orchestration.Api.Tests.Integration;

/// <summary><c>workflow</c> steps against real Redis and the bus: a child run's output, failure, cancel and depth.</summary>
[Trait("Category", "Cluster")]
public sealed class ChildWorkflowTests : IntegrationTest
{
    private static JsonObject ChildStep(string id, string workflow, object? input = null, string onFail = "RETRY", int maxAttempts = 3)
    {
        var step = Wf.Step(id, input: input, onFail: onFail, maxAttempts: maxAttempts);
        step["type"] = "workflow";
        step["workflow"] = workflow;
        return step;
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> PutAsync(JsonObject workflow)
    {
        using var response = await Api.PutAsJsonAsync($"/api/workflows/{workflow["id"]}", workflow, Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    private static string ChildRunId(JsonElement run, string stepId) => Step(run, stepId).GetProperty("childRunId").GetString()!;

    [Fact]
    public async Task A_child_run_completes_and_the_parent_continues_with_its_output()
    {
        var worker = await AgentAsync("worker", task => AgentAction.Succeed(new { step = task.StepId, got = task.Input }));
        await Api.PutWorkflowAsync(Wf.Of("review", Wf.Step("check", agent: "worker", input: new { code = "{{input.code}}" })), Ct);
        await Api.PutWorkflowAsync(Wf.Of("build",
            Wf.Step("code", agent: "worker"),
            ChildStep("review", "review", input: new { code = "{{steps.code.output.step}}" }),
            Wf.Step("ship", agent: "worker")), Ct);

        var runId = await Api.StartRunAsync("build", cancellationToken: Ct);
        var run = await Api.WaitForRunAsync(runId, cancellationToken: Ct);
        var childId = ChildRunId(run, "review");
        var child = await Api.GetRunAsync(childId, Ct);

        Assert.Equal("SUCCEEDED", Status(run));
        Assert.Equal("SUCCEEDED", Status(child));
        Assert.Equal("review", child.GetProperty("workflowId").GetString());
        Assert.Equal(1, child.GetProperty("depth").GetInt32());
        Assert.Equal(runId, child.GetProperty("parent").GetProperty("runId").GetString());
        Assert.Equal("review", child.GetProperty("parent").GetProperty("stepId").GetString());
        Assert.Equal("code", child.GetProperty("input").GetProperty("code").GetString());
        // The step's output is the child's output; the next step gets it as its input.
        Assert.Equal(child.GetProperty("output").GetRawText(), Step(run, "review").GetProperty("output").GetRawText());
        Assert.Equal("check", Step(run, "ship").GetProperty("output").GetProperty("got").GetProperty("step").GetString());
        Assert.Equal(childId, Step(run, "review").GetProperty("attemptHistory")[0].GetProperty("childRunId").GetString());
        Assert.Equal(1, worker.Deliveries(childId, "check"));
        Assert.Equal(0, worker.Deliveries(runId, "review"));
    }

    [Fact]
    public async Task A_failed_child_fails_the_parent_step_which_follows_its_on_fail()
    {
        await AgentAsync("worker", task => task.StepId == "check" ? AgentAction.Fail("the tests are red", retryable: false) : AgentAction.Succeed(new { step = task.StepId }));
        await Api.PutWorkflowAsync(Wf.Of("review", Wf.Step("check", agent: "worker")), Ct);
        await Api.PutWorkflowAsync(Wf.Of("lenient", ChildStep("review", "review", onFail: "SKIP"), Wf.Step("ship", agent: "worker")), Ct);
        await Api.PutWorkflowAsync(Wf.Of("strict", ChildStep("review", "review", maxAttempts: 2), Wf.Step("ship", agent: "worker")), Ct);

        var lenient = await Api.WaitForRunAsync(await Api.StartRunAsync("lenient", cancellationToken: Ct), cancellationToken: Ct);
        var strict = await Api.WaitForRunAsync(await Api.StartRunAsync("strict", cancellationToken: Ct), cancellationToken: Ct);
        var attempts = Step(strict, "review").GetProperty("attemptHistory").EnumerateArray().ToList();

        Assert.Equal("SUCCEEDED", Status(lenient));
        Assert.Equal("SKIPPED", Step(lenient, "review").GetProperty("status").GetString());
        Assert.Contains("the tests are red", Step(lenient, "review").GetProperty("error").GetString());
        Assert.Equal("SUCCEEDED", Step(lenient, "ship").GetProperty("status").GetString());

        // RETRY: each attempt is a child run of its own; after the last one the run fails on the step.
        Assert.Equal("FAILED", Status(strict));
        Assert.Equal("review", strict.GetProperty("failedStep").GetString());
        Assert.Equal(2, attempts.Count);
        Assert.NotEqual(attempts[0].GetProperty("childRunId").GetString(), attempts[1].GetProperty("childRunId").GetString());
        foreach (var attempt in attempts)
        {
            Assert.Equal("FAILED", Status(await Api.GetRunAsync(attempt.GetProperty("childRunId").GetString()!, Ct)));
        }
    }

    [Fact]
    public async Task Cancelling_the_parent_cancels_the_child_which_compensates_its_completed_steps()
    {
        var worker = await AgentAsync("worker", task => task.StepId == "hold" ? AgentAction.Succeed().WhenReleased() : AgentAction.Succeed(new { booked = task.StepId }));
        var undo = await AgentAsync("undo");
        await Api.PutWorkflowAsync(Wf.Of("booking", Wf.Step("book", agent: "worker", compensateWith: "undo"), Wf.Step("hold", agent: "worker")), Ct);
        await Api.PutWorkflowAsync(Wf.Of("trip", ChildStep("booking", "booking"), Wf.Step("after", agent: "worker")), Ct);
        var runId = await Api.StartRunAsync("trip", cancellationToken: Ct);
        var running = await Api.WaitForRunAsync(runId, r => Value(Step(r, "booking"), "childRunId") is not null, because: "the child is started", cancellationToken: Ct);
        var childId = ChildRunId(running, "booking");
        var held = await worker.WaitForTaskAsync(childId, "hold");

        using var cancel = await Api.PostAsync($"/api/runs/{runId}/cancel", null, Ct);
        var parent = await Api.WaitForStatusAsync(runId, "CANCELLED", cancellationToken: Ct);
        var child = await Api.WaitForStatusAsync(childId, "CANCELLED", cancellationToken: Ct);
        held.Release();
        await WaitUntilHandledAsync(await held.Replied);
        var childAfter = await Api.GetRunAsync(childId, Ct);

        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        Assert.Equal("CANCELLED", Step(parent, "booking").GetProperty("status").GetString());
        Assert.Equal(["book"], child.GetProperty("compensated").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(1, undo.Deliveries(childId, "book", kind: Communication.Bus.Contracts.AgentTaskKind.Compensation));
        Assert.Equal("CANCELLED", Status(childAfter));
        Assert.Equal("CANCELLED", Step(childAfter, "hold").GetProperty("status").GetString());
        Assert.Equal(0, worker.Deliveries(runId, "after"));
        Assert.Equal("CANCELLED", Status(await Api.GetRunAsync(runId, Ct)));
    }

    [Fact]
    public async Task When_the_parent_fails_after_its_child_succeeded_the_child_compensates_its_steps_and_the_parent_records_it()
    {
        var worker = await AgentAsync("worker", task => task.StepId == "ship" ? AgentAction.Fail("ship broke", retryable: false) : AgentAction.Succeed(new { booked = task.StepId }));
        var undo = await AgentAsync("undo");
        await Api.PutWorkflowAsync(Wf.Of("booking", Wf.Step("book", agent: "worker", compensateWith: "undo"), Wf.Step("pay", agent: "worker", compensateWith: "undo")), Ct);
        await Api.PutWorkflowAsync(Wf.Of("trip", ChildStep("booking", "booking"), Wf.Step("ship", agent: "worker", onFail: "ABORT")), Ct);

        var runId = await Api.StartRunAsync("trip", cancellationToken: Ct);
        var run = await Api.WaitForRunAsync(runId, cancellationToken: Ct);
        var child = await Api.GetRunAsync(ChildRunId(run, "booking"), Ct);
        var childId = ChildRunId(run, "booking");

        Assert.Equal("FAILED", Status(run));
        Assert.Equal("ship", run.GetProperty("failedStep").GetString());
        Assert.Equal(["booking"], run.GetProperty("compensated").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal("SUCCEEDED", Status(child));
        Assert.True(child.GetProperty("undone").GetBoolean());
        Assert.Equal(["pay", "book"], child.GetProperty("compensated").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(1, undo.Deliveries(childId, "pay", kind: Communication.Bus.Contracts.AgentTaskKind.Compensation));
        Assert.Equal(1, undo.Deliveries(childId, "book", kind: Communication.Bus.Contracts.AgentTaskKind.Compensation));
        Assert.Equal(1, worker.Deliveries(childId, "book"));
    }

    private static JsonObject EachChildStep(string id, string workflow)
    {
        var step = ChildStep(id, workflow, input: new { n = "{{item}}" });
        step["forEach"] = new JsonObject { ["items"] = "{{input.list}}" };
        return step;
    }

    private static string ItemChildRunId(JsonElement run, string stepId, int item) =>
        Step(run, stepId).GetProperty("items")[item].GetProperty("childRunId").GetString()!;

    [Fact]
    public async Task When_the_parent_fails_after_a_for_each_of_child_runs_every_items_child_compensates_its_steps()
    {
        var worker = await AgentAsync("worker", task => task.StepId == "ship" ? AgentAction.Fail("ship broke", retryable: false) : AgentAction.Succeed(new { booked = task.StepId }));
        var undo = await AgentAsync("undo");
        await Api.PutWorkflowAsync(Wf.Of("booking", Wf.Step("book", agent: "worker", compensateWith: "undo"), Wf.Step("pay", agent: "worker", compensateWith: "undo")), Ct);
        await Api.PutWorkflowAsync(Wf.Of("tour", EachChildStep("stops", "booking"), Wf.Step("ship", agent: "worker", onFail: "ABORT")), Ct);

        var runId = await Api.StartRunAsync("tour", new { list = new[] { "rome", "oslo" } }, cancellationToken: Ct);
        var run = await Api.WaitForRunAsync(runId, cancellationToken: Ct);

        Assert.Equal("FAILED", Status(run));
        Assert.Equal("ship", run.GetProperty("failedStep").GetString());
        // Both items were undone through their children (in reverse completion order, which depends on timing here).
        Assert.Equal(["stops[0]", "stops[1]"], run.GetProperty("compensated").EnumerateArray().Select(s => s.GetString()).Order(StringComparer.Ordinal));
        for (var item = 0; item < 2; item++)
        {
            var childId = ItemChildRunId(run, "stops", item);
            var child = await Api.GetRunAsync(childId, Ct);
            Assert.Equal("SUCCEEDED", Status(child));
            Assert.True(child.GetProperty("undone").GetBoolean());
            Assert.Equal($"stops[{item}]", child.GetProperty("parent").GetProperty("stepId").GetString());
            Assert.Equal(["pay", "book"], child.GetProperty("compensated").EnumerateArray().Select(s => s.GetString()));
            Assert.Equal(1, undo.Deliveries(childId, "pay", kind: Communication.Bus.Contracts.AgentTaskKind.Compensation));
            Assert.Equal(1, undo.Deliveries(childId, "book", kind: Communication.Bus.Contracts.AgentTaskKind.Compensation));
            Assert.Equal(1, worker.Deliveries(childId, "book"));
        }
    }

    [Fact]
    public async Task Cancelling_the_parent_mid_for_each_cancels_the_running_items_child_and_the_succeeded_items_child_undoes_its_steps()
    {
        var worker = await AgentAsync("worker", task => task.StepId == "hold" && task.Input.GetProperty("n").GetString() == "oslo"
            ? AgentAction.Succeed().WhenReleased()
            : AgentAction.Succeed(new { booked = task.StepId }));
        var undo = await AgentAsync("undo");
        await Api.PutWorkflowAsync(Wf.Of("booking",
            Wf.Step("book", agent: "worker", compensateWith: "undo"),
            Wf.Step("hold", agent: "worker", input: new { n = "{{input.n}}" })), Ct);
        await Api.PutWorkflowAsync(Wf.Of("tour", EachChildStep("stops", "booking"), Wf.Step("after", agent: "worker")), Ct);
        var runId = await Api.StartRunAsync("tour", new { list = new[] { "rome", "oslo" } }, cancellationToken: Ct);
        var running = await Api.WaitForRunAsync(runId,
            r => Step(r, "stops").TryGetProperty("items", out var items) && items.GetArrayLength() == 2
                && items[0].GetProperty("status").GetString() == "SUCCEEDED" && Value(items[1], "childRunId") is not null,
            because: "rome's child run succeeded and oslo's is started", cancellationToken: Ct);
        var done = ItemChildRunId(running, "stops", 0);
        var held = ItemChildRunId(running, "stops", 1);
        var hold = await worker.WaitForTaskAsync(held, "hold");

        using var cancel = await Api.PostAsync($"/api/runs/{runId}/cancel", null, Ct);
        var parent = await Api.WaitForStatusAsync(runId, "CANCELLED", cancellationToken: Ct);
        var cancelled = await Api.WaitForStatusAsync(held, "CANCELLED", cancellationToken: Ct);
        hold.Release();
        await WaitUntilHandledAsync(await hold.Replied);
        var undone = await Api.GetRunAsync(done, Ct);

        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        Assert.Equal(["stops[0]"], parent.GetProperty("compensated").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal("CANCELLED", Step(parent, "stops").GetProperty("items")[1].GetProperty("status").GetString());
        Assert.Equal("SUCCEEDED", Status(undone));
        Assert.True(undone.GetProperty("undone").GetBoolean());
        Assert.Equal(["book"], undone.GetProperty("compensated").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(["book"], cancelled.GetProperty("compensated").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(1, undo.Deliveries(done, "book", kind: Communication.Bus.Contracts.AgentTaskKind.Compensation));
        Assert.Equal(1, undo.Deliveries(held, "book", kind: Communication.Bus.Contracts.AgentTaskKind.Compensation));
        Assert.Equal("CANCELLED", Status(await Api.GetRunAsync(held, Ct)));
        Assert.Equal(0, worker.Deliveries(runId, "after"));
    }

    [Fact]
    public async Task A_childs_end_that_cannot_reach_the_parent_waits_in_the_childs_outbox_and_is_delivered_later()
    {
        var worker = await AgentAsync("worker", task => task.StepId == "check" ? AgentAction.Succeed(new { ok = true }).WhenReleased() : AgentAction.Succeed());
        await Api.PutWorkflowAsync(Wf.Of("review", Wf.Step("check", agent: "worker")), Ct);
        await Api.PutWorkflowAsync(Wf.Of("build", ChildStep("review", "review"), Wf.Step("ship", agent: "worker")), Ct);
        var runId = await Api.StartRunAsync("build", cancellationToken: Ct);
        var running = await Api.WaitForRunAsync(runId, r => Value(Step(r, "review"), "childRunId") is not null, because: "the child is started", cancellationToken: Ct);
        var childId = ChildRunId(running, "review");
        var held = await worker.WaitForTaskAsync(childId, "check");

        // The parent's state can't be read for a while (a wrong type under its key): applying the child's end fails.
        var db = RedisClient.GetDatabase();
        RedisKey parentKey = $"orch:run:{{{runId}}}";
        RedisKey parked = $"orch:run:{{{runId}}}:parked";
        RedisKey childOutbox = $"orch:run:{{{childId}}}:outbox";
        await db.ScriptEvaluateAsync("redis.call('RENAME', KEYS[1], KEYS[2]); redis.call('SET', KEYS[1], 'not a hash')", [parentKey, parked]);
        held.Release();
        await Api.WaitForStatusAsync(childId, "SUCCEEDED", cancellationToken: Ct);
        await Eventually.TrueAsync(async () => await db.HashLengthAsync(childOutbox) == 1, TimeSpan.FromSeconds(30), "the end notice waits in the child's outbox");
        await db.ScriptEvaluateAsync("redis.call('DEL', KEYS[1]); redis.call('RENAME', KEYS[2], KEYS[1])", [parentKey, parked]);

        var run = await Api.WaitForRunAsync(runId, cancellationToken: Ct);
        await Eventually.TrueAsync(async () => await db.HashLengthAsync(childOutbox) == 0, TimeSpan.FromSeconds(30), "the notice leaves the outbox once delivered");

        Assert.Equal("SUCCEEDED", Status(run));
        Assert.True(Step(run, "review").GetProperty("output").GetProperty("ok").GetBoolean());
        Assert.Equal(1, worker.Deliveries(runId, "ship"));
    }

    [Fact]
    public async Task Put_refuses_unknown_children_recursion_and_chains_deeper_than_the_limit_naming_the_field()
    {
        await Api.PutWorkflowAsync(Wf.Of("leaf", Wf.Step("s1", agent: "worker")), Ct);
        var missing = await PutAsync(Wf.Of("p1", ChildStep("c", "nowhere")));
        var missingVersion = await PutAsync(Wf.Of("p2", ChildStep("c", "leaf").With("workflowVersion", 9)));
        var self = await PutAsync(Wf.Of("self", ChildStep("c", "self")));
        var agentAndWorkflow = await PutAsync(Wf.Of("both", ChildStep("c", "leaf").With("agent", "worker")));
        var workflowOnAgentStep = await PutAsync(Wf.Of("agentstep", Wf.Step("c", agent: "worker").With("workflow", "leaf")));

        // a → b is fine; then b → a closes a cycle.
        await Api.PutWorkflowAsync(Wf.Of("b", Wf.Step("s1", agent: "worker")), Ct);
        await Api.PutWorkflowAsync(Wf.Of("a", ChildStep("c", "b")), Ct);
        var cycle = await PutAsync(Wf.Of("b", ChildStep("back", "a")));

        // A chain d1 → leaf, d2 → d1, …: d5 nests 5 deep (the default limit), d6 would nest 6.
        for (var depth = 1; depth <= 5; depth++)
        {
            await Api.PutWorkflowAsync(Wf.Of($"d{depth}", ChildStep("c", depth == 1 ? "leaf" : $"d{depth - 1}")), Ct);
        }

        var tooDeep = await PutAsync(Wf.Of("d6", ChildStep("c", "d5")));
        using var stored = await Api.GetAsync("/api/workflows/d6", Ct);

        AssertField(missing, "steps[0].workflow", "No workflow 'nowhere'");
        AssertField(missingVersion, "steps[0].workflowVersion", "no version 9");
        AssertField(self, "steps[0].workflow", "cannot start itself");
        AssertField(agentAndWorkflow, "steps[0].type", "no 'agent'");
        AssertField(workflowOnAgentStep, "steps[0].workflow", "type 'workflow'");
        AssertField(cycle, "steps[0].workflow", "b → a → b");
        AssertField(tooDeep, "steps[0].workflow", "6 deep");
        Assert.Equal(HttpStatusCode.NotFound, stored.StatusCode);
        Assert.Equal(1, (await Api.GetFromJsonAsync<JsonElement>("/api/workflows/b", Ct)).GetProperty("version").GetInt32());
    }

    [Fact]
    public async Task A_chain_that_grew_deeper_after_its_put_fails_the_step_past_the_depth_limit()
    {
        await AgentAsync("worker");
        await Api.PutWorkflowAsync(Wf.Of("leaf", Wf.Step("s1", agent: "worker")), Ct);
        for (var depth = 1; depth <= 5; depth++)
        {
            await Api.PutWorkflowAsync(Wf.Of($"d{depth}", ChildStep("c", depth == 1 ? "leaf" : $"d{depth - 1}", maxAttempts: 1)), Ct);
        }

        // leaf now starts a child itself: d5's chain is 6 deep, which its own PUT never saw.
        await Api.PutWorkflowAsync(Wf.Of("deeper", Wf.Step("s1", agent: "worker")), Ct);
        await Api.PutWorkflowAsync(Wf.Of("leaf", ChildStep("c", "deeper", maxAttempts: 1)), Ct);

        var run = await Api.WaitForRunAsync(await Api.StartRunAsync("d5", cancellationToken: Ct), cancellationToken: Ct);

        Assert.Equal("FAILED", Status(run));
        Assert.Contains("6 deep, over the limit of 5 (Orchestration:MaxWorkflowDepth)", run.GetProperty("error").GetString());
    }

    private static void AssertField((HttpStatusCode Status, JsonElement Body) response, string field, string text)
    {
        Assert.True(response.Status == HttpStatusCode.BadRequest, $"{(int)response.Status}: {response.Body}");
        Assert.True(response.Body.GetProperty("errors").TryGetProperty(field, out var messages), $"no error for '{field}' in {response.Body}");
        Assert.Contains(text, messages[0].GetString(), StringComparison.Ordinal);
    }
}

internal static class JsonObjectExtensions
{
    public static JsonObject With(this JsonObject node, string property, JsonNode? value)
    {
        node[property] = value;
        return node;
    }
}
