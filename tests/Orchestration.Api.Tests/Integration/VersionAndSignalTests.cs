using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using static Orchestration.Api.Tests.Integration.OrchestrationClient;

namespace Orchestration.Api.Tests.Integration;

/// <summary>Immutable workflow versions (ETag / If-Match), runs pinned to their version, and signals to waiting runs.</summary>
public sealed class VersionAndSignalTests : IntegrationTest
{
    private async Task<HttpResponseMessage> PutAsync(string id, JsonObject workflow, string? ifMatch = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, $"/api/workflows/{id}") { Content = new StringContent(workflow.ToJsonString(), Encoding.UTF8, "application/json") };
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }

        return await Api.SendAsync(request, Ct);
    }

    private static JsonObject Approval(string id) => new() { ["id"] = id, ["type"] = "approval", ["timeoutMs"] = 60_000, ["onFail"] = "ABORT" };

    [Fact]
    public async Task Every_changing_put_is_a_new_immutable_version_and_if_match_guards_lost_updates()
    {
        using var created = await PutAsync("wf", Wf.Of("wf", Wf.Step("s1", agent: "a")));
        using var same = await PutAsync("wf", Wf.Of("wf", Wf.Step("s1", agent: "a")));
        using var changed = await PutAsync("wf", Wf.Of("wf", Wf.Step("s1", agent: "b")), ifMatch: "\"1\"");
        using var lost = await PutAsync("wf", Wf.Of("wf", Wf.Step("s1", agent: "c")), ifMatch: "\"1\"");
        using var badHeader = await PutAsync("wf", Wf.Of("wf", Wf.Step("s1", agent: "c")), ifMatch: "yesterday");
        var versions = await Api.GetFromJsonAsync<JsonElement>("/api/workflows/wf/versions", Ct);
        var first = await Api.GetFromJsonAsync<JsonElement>("/api/workflows/wf/versions/1", Ct);
        using var latest = await Api.GetAsync("/api/workflows/wf", Ct);
        using var missing = await Api.GetAsync("/api/workflows/wf/versions/9", Ct);

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("\"1\"", created.Headers.ETag?.ToString());
        Assert.Equal(HttpStatusCode.OK, same.StatusCode);
        Assert.Equal("\"1\"", same.Headers.ETag?.ToString());
        Assert.Equal("\"2\"", changed.Headers.ETag?.ToString());
        Assert.Equal(HttpStatusCode.PreconditionFailed, lost.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badHeader.StatusCode);
        Assert.Equal([1, 2], versions.EnumerateArray().Select(v => v.GetProperty("version").GetInt32()));
        Assert.Equal("a", first.GetProperty("steps")[0].GetProperty("agent").GetString());
        Assert.Equal("\"2\"", latest.Headers.ETag?.ToString());
        Assert.Equal("b", (await latest.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("steps")[0].GetProperty("agent").GetString());
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task A_run_finishes_on_the_version_it_started_with_and_a_start_can_name_a_version()
    {
        var held = 0;
        var first = await AgentAsync("first", _ => Interlocked.Increment(ref held) == 1
            ? AgentAction.Succeed(new { by = "first" }).WhenReleased()
            : AgentAction.Succeed(new { by = "first" }));
        var second = await AgentAsync("second", _ => AgentAction.Succeed(new { by = "second" }));
        await Api.PutWorkflowAsync(Wf.Of("pinned", Wf.Step("s1", agent: "first"), Wf.Step("s2", agent: "first")), Ct);
        var runId = await Api.StartRunAsync("pinned", cancellationToken: Ct);
        var firstTask = await first.WaitForTaskAsync(runId, "s1");

        await Api.PutWorkflowAsync(Wf.Of("pinned", Wf.Step("s1", agent: "second"), Wf.Step("s2", agent: "second")), Ct);
        firstTask.Release();
        var run = await Api.WaitForRunAsync(runId, cancellationToken: Ct);
        var onV2 = await Api.WaitForRunAsync(await Api.StartRunAsync("pinned", cancellationToken: Ct), cancellationToken: Ct);
        using var v1Start = await Api.PostAsJsonAsync("/api/workflows/pinned/runs", new { input = new { }, version = 1 }, Ct);
        var v1RunId = (await v1Start.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("runId").GetString()!;
        using var unknownVersion = await Api.PostAsJsonAsync("/api/workflows/pinned/runs", new { input = new { }, version = 7 }, Ct);

        Assert.Equal("SUCCEEDED", Status(run));
        Assert.Equal(1, run.GetProperty("workflowVersion").GetInt32());
        Assert.Equal("first", run.GetProperty("output").GetProperty("by").GetString());
        Assert.Equal(0, second.Deliveries(runId, "s2"));
        Assert.Equal(2, onV2.GetProperty("workflowVersion").GetInt32());
        Assert.Equal("second", onV2.GetProperty("output").GetProperty("by").GetString());
        Assert.Equal(1, (await Api.WaitForRunAsync(v1RunId, cancellationToken: Ct)).GetProperty("workflowVersion").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, unknownVersion.StatusCode);
    }

    [Fact]
    public async Task A_waiting_run_resumes_after_the_approval_call_and_bad_signals_are_refused()
    {
        var worker = await AgentAsync("worker");
        await Api.PutWorkflowAsync(Wf.Of("gated", Wf.Step("plan", agent: "worker"), Approval("approve"), Wf.Step("code", agent: "worker")), Ct);
        var runId = await Api.StartRunAsync("gated", cancellationToken: Ct);
        var waiting = await Api.WaitForRunAsync(runId, r => Step(r, "approve").GetProperty("status").GetString() == "WAITING", because: "the run waits", cancellationToken: Ct);

        using var unknownRun = await Api.PostAsJsonAsync("/api/runs/nope/signals/approve", new { approved = true }, Ct);
        using var unknownSignal = await Api.PostAsJsonAsync($"/api/runs/{runId}/signals/other", new { approved = true }, Ct);
        using var badBody = await Api.PostAsJsonAsync($"/api/runs/{runId}/signals/approve", new { approved = "yes" }, Ct);
        using var badName = await Api.PostAsJsonAsync($"/api/runs/{runId}/signals/no%20spaces", new { approved = true }, Ct);
        using var approved = await Api.PostAsJsonAsync($"/api/runs/{runId}/signals/approve", new { approved = true, by = "alice", comment = "ok", data = new { ticket = 7 } }, Ct);
        var run = await Api.WaitForRunAsync(runId, cancellationToken: Ct);
        using var late = await Api.PostAsJsonAsync($"/api/runs/{runId}/signals/approve", new { approved = true }, Ct);

        Assert.Equal("approve", Step(waiting, "approve").GetProperty("waitingFor").GetString());
        Assert.Equal(HttpStatusCode.NotFound, unknownRun.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknownSignal.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badBody.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badName.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, approved.StatusCode);
        Assert.Equal("SUCCEEDED", Status(run));
        Assert.Equal(7, Step(run, "approve").GetProperty("output").GetProperty("data").GetProperty("ticket").GetInt32());
        Assert.Equal(HttpStatusCode.Conflict, late.StatusCode);
        Assert.Equal(1, worker.Deliveries(runId, "code"));
    }

    [Fact]
    public async Task A_rejected_approval_fails_the_run()
    {
        await AgentAsync("worker");
        await Api.PutWorkflowAsync(Wf.Of("gated", Approval("approve"), Wf.Step("code", agent: "worker")), Ct);
        var runId = await Api.StartRunAsync("gated", cancellationToken: Ct);
        await Api.WaitForRunAsync(runId, r => Step(r, "approve").GetProperty("status").GetString() == "WAITING", because: "the run waits", cancellationToken: Ct);

        using var rejected = await Api.PostAsJsonAsync($"/api/runs/{runId}/signals/approve", new { approved = false, by = "bob", comment = "needs work" }, Ct);
        var run = await Api.WaitForRunAsync(runId, cancellationToken: Ct);

        Assert.Equal("FAILED", Status(run));
        Assert.Equal("approve", run.GetProperty("failedStep").GetString());
        Assert.Contains("needs work", Step(run, "approve").GetProperty("error").GetString());
    }
}
