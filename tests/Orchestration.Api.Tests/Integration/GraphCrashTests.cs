using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Communication.Bus.Contracts;
using StackExchange.Redis;
using TestSupport;
using static Orchestration.Api.Tests.Integration.OrchestrationClient;

namespace Orchestration.Api.Tests.Integration;

/// <summary>
/// Parallel steps and approvals across hard kills (the whole process) and replicas: nothing is lost, no
/// attempt is sent twice, and a waiting run resumes when its signal reaches any replica.
/// </summary>
[Collection(nameof(ServiceProcesses))]
[Trait("Category", "Cluster")]
public sealed class GraphCrashTests : IAsyncLifetime
{
    private const string Service = "Orchestration.Api";
    private readonly List<IAsyncDisposable> _owned = [];
    private ITestRedis _redis = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _redis = await TestRedis.StartAsync();

    public async ValueTask DisposeAsync()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }

        await _redis.DisposeAsync();
    }

    private async Task<(ServiceProcess Process, HttpClient Api)> StartServiceAsync()
    {
        var process = await ServiceProcess.StartAsync(Service, _redis.ConnectionString, IntegrationTest.FastTimings(), cancellationToken: Ct);
        _owned.Add(process);
        var api = process.CreateAuthorizedClient();
        _owned.Add(new Owned(api.Dispose));
        return (process, api);
    }

    private async Task<FakeAgent> AgentAsync(string id, HttpClient api, Func<AgentTask, AgentAction> behaviour)
    {
        var agent = await FakeAgent.StartAsync(id, _redis.ConnectionString, api, behaviour: behaviour, cancellationToken: Ct);
        _owned.Add(agent);
        return agent;
    }

    private static JsonObject Approval(string id, params string[] dependsOn) => new()
    {
        ["id"] = id, ["type"] = "approval", ["timeoutMs"] = 300_000, ["onFail"] = "ABORT",
        ["dependsOn"] = new JsonArray([.. dependsOn.Select(d => (JsonNode)d)]),
    };

    private static JsonObject After(JsonObject step, params string[] dependsOn)
    {
        step["dependsOn"] = new JsonArray([.. dependsOn.Select(d => (JsonNode)d)]);
        return step;
    }

    [Fact]
    public async Task Killed_mid_fan_out_the_restarted_service_joins_the_branches_and_sends_no_attempt_twice()
    {
        var (first, firstApi) = await StartServiceAsync();
        var worker = await AgentAsync("worker", firstApi,
            task => task.StepId.StartsWith("branch", StringComparison.Ordinal) ? AgentAction.Succeed(new { done = task.StepId }).WhenReleased() : AgentAction.Succeed(new { done = task.StepId }));
        await firstApi.PutWorkflowAsync(Wf.Of("fan",
            Wf.Step("root", agent: "worker"),
            After(Wf.Step("branch1", agent: "worker"), "root"),
            After(Wf.Step("branch2", agent: "worker"), "root"),
            After(Wf.Step("branch3", agent: "worker"), "root"),
            After(Wf.Step("join", agent: "worker"), "branch1", "branch2", "branch3")), Ct);
        var runId = await firstApi.StartRunAsync("fan", cancellationToken: Ct);
        var held = new[] { await worker.WaitForTaskAsync(runId, "branch1"), await worker.WaitForTaskAsync(runId, "branch2"), await worker.WaitForTaskAsync(runId, "branch3") };
        held[0].Release();
        await held[0].Replied;

        await first.KillAsync();
        held[1].Release();
        held[2].Release();
        var (second, secondApi) = await StartServiceAsync();
        var run = await secondApi.WaitForRunAsync(runId, because: $"run {runId} ends after the restart\n{second.Output}", cancellationToken: Ct);

        Assert.Equal("SUCCEEDED", Status(run));
        var join = Step(run, "join");
        Assert.Equal(["branch1", "branch2", "branch3"], join.GetProperty("dependsOn").EnumerateArray().Select(d => d.GetString()));
        var deliveries = FakeAgent.DeliveryCounts([worker]);
        Assert.Equal(5, deliveries.Count);
        Assert.All(deliveries, d => Assert.True(d.Value == 1, $"{d.Key} was delivered {d.Value} times"));
    }

    [Fact]
    public async Task Killed_while_a_child_run_works_the_restarted_service_finishes_the_child_and_the_parent_goes_on_with_its_output()
    {
        var (first, firstApi) = await StartServiceAsync();
        var worker = await AgentAsync("worker", firstApi,
            task => task.StepId == "check" ? AgentAction.Succeed(new { verdict = "ok" }).WhenReleased() : AgentAction.Succeed(new { done = task.StepId, got = task.Input }));
        await firstApi.PutWorkflowAsync(Wf.Of("review", Wf.Step("check", agent: "worker")), Ct);
        var child = Wf.Step("review");
        child["type"] = "workflow";
        child["workflow"] = "review";
        await firstApi.PutWorkflowAsync(Wf.Of("build", Wf.Step("code", agent: "worker"), child, Wf.Step("ship", agent: "worker")), Ct);
        var runId = await firstApi.StartRunAsync("build", cancellationToken: Ct);
        var running = await firstApi.WaitForRunAsync(runId, r => Value(Step(r, "review"), "childRunId") is not null, because: "the child is started", cancellationToken: Ct);
        var childRunId = Step(running, "review").GetProperty("childRunId").GetString()!;
        var held = await worker.WaitForTaskAsync(childRunId, "check");

        await first.KillAsync();
        held.Release();
        var (second, secondApi) = await StartServiceAsync();
        var run = await secondApi.WaitForRunAsync(runId, because: $"run {runId} ends after the restart\n{second.Output}", cancellationToken: Ct);

        Assert.Equal("SUCCEEDED", Status(run));
        Assert.Equal("ok", Step(run, "review").GetProperty("output").GetProperty("verdict").GetString());
        Assert.Equal("ok", Step(run, "ship").GetProperty("output").GetProperty("got").GetProperty("verdict").GetString());
        Assert.Equal(childRunId, Step(run, "review").GetProperty("childRunId").GetString());
        var deliveries = FakeAgent.DeliveryCounts([worker]);
        Assert.Equal(3, deliveries.Count);
        Assert.All(deliveries, d => Assert.True(d.Value == 1, $"{d.Key} was delivered {d.Value} times"));
    }

    [Fact]
    public async Task Killed_while_waiting_for_approval_the_run_waits_on_and_resumes_when_the_signal_reaches_a_restarted_service()
    {
        var (first, firstApi) = await StartServiceAsync();
        var worker = await AgentAsync("worker", firstApi, task => AgentAction.Succeed(new { done = task.StepId }));
        await firstApi.PutWorkflowAsync(Wf.Of("gated", Wf.Step("plan", agent: "worker"), Approval("approve", "plan"), After(Wf.Step("code", agent: "worker"), "approve")), Ct);
        var runId = await firstApi.StartRunAsync("gated", cancellationToken: Ct);
        await firstApi.WaitForRunAsync(runId, r => Step(r, "approve").GetProperty("status").GetString() == "WAITING", because: "the run waits for approval", cancellationToken: Ct);

        await first.KillAsync();
        var (_, secondApi) = await StartServiceAsync();
        var waiting = await secondApi.GetRunAsync(runId, Ct);
        using var signal = await secondApi.PostAsJsonAsync($"/api/runs/{runId}/signals/approve", new { approved = true, by = "alice", comment = "go" }, Ct);
        var run = await secondApi.WaitForRunAsync(runId, cancellationToken: Ct);

        Assert.Equal("WAITING", Step(waiting, "approve").GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.Accepted, signal.StatusCode);
        Assert.Equal("SUCCEEDED", Status(run));
        Assert.Equal("alice", Step(run, "approve").GetProperty("output").GetProperty("by").GetString());
        Assert.Equal(1, worker.Deliveries(runId, "code"));
    }

    [Fact]
    public async Task With_two_replicas_a_signal_sent_while_one_is_down_resumes_the_run_on_the_other()
    {
        var (first, firstApi) = await StartServiceAsync();
        var (_, secondApi) = await StartServiceAsync();
        var worker = await AgentAsync("worker", firstApi, task => AgentAction.Succeed(new { done = task.StepId }));
        await firstApi.PutWorkflowAsync(Wf.Of("gated", Approval("approve"), After(Wf.Step("code", agent: "worker"), "approve")), Ct);
        var runId = await firstApi.StartRunAsync("gated", cancellationToken: Ct);
        await firstApi.WaitForRunAsync(runId, r => Step(r, "approve").GetProperty("status").GetString() == "WAITING", because: "the run waits for approval", cancellationToken: Ct);

        await first.KillAsync();
        using var signal = await secondApi.PostAsJsonAsync($"/api/runs/{runId}/signals/approve", new { approved = true, by = "bob" }, Ct);
        var run = await secondApi.WaitForRunAsync(runId, cancellationToken: Ct);

        Assert.Equal(HttpStatusCode.Accepted, signal.StatusCode);
        Assert.Equal("SUCCEEDED", Status(run));
        Assert.Equal(1, worker.Deliveries(runId, "code"));
        var events = await secondApi.GetStringAsync($"/api/runs/{runId}/events", Ct);
        Assert.Contains("event: waiting", events);
        Assert.Contains("event: signal_received", events);
    }

    private sealed class Owned(Action dispose) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            dispose();
            return ValueTask.CompletedTask;
        }
    }
}
