using Communication.Bus.Contracts;
using StackExchange.Redis;
using TestSupport;
using static Orchestration.Api.Tests.Integration.OrchestrationClient;

namespace Orchestration.Api.Tests.Integration;

/// <summary>Tests that run the service as OS processes; they run alone, as process start-up is timing-sensitive on a small machine.</summary>
[CollectionDefinition(nameof(ServiceProcesses), DisableParallelization = true)]
public sealed class ServiceProcesses;

/// <summary>
/// The service killed hard (the whole process, no graceful stop) in the middle of a run, and a new process
/// started on the same Redis: the run state, its timers and the results waiting on the bus survive.
/// </summary>
[Collection(nameof(ServiceProcesses))]
[Trait("Category", "Cluster")]
public sealed class CrashRecoveryTests : IAsyncLifetime
{
    private const string Service = "Orchestration.Api";
    private readonly List<IAsyncDisposable> _owned = [];
    private ITestRedis _redis = null!;
    private ConnectionMultiplexer _redisClient = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _redis = await TestRedis.StartAsync();
        _redisClient = await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString);
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }

        await _redisClient.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private async Task<(ServiceProcess Process, HttpClient Api)> StartServiceAsync()
    {
        var process = await ServiceProcess.StartAsync(Service, _redis.ConnectionString, IntegrationTest.FastTimings(), cancellationToken: Ct);
        _owned.Add(process);
        var api = process.CreateAuthorizedClient();
        _owned.Add(new DisposableClient(api));
        return (process, api);
    }

    private async Task<FakeAgent> AgentAsync(string id, HttpClient api, Func<AgentTask, AgentAction> behaviour)
    {
        var agent = await FakeAgent.StartAsync(id, _redis.ConnectionString, api, behaviour: behaviour, cancellationToken: Ct);
        _owned.Add(agent);
        return agent;
    }

    private static string Describe(ServiceProcess process) => $"\n--- output of the process (pid {process.ProcessId}) ---\n{process.Output}";

    private static void AssertEachAttemptDeliveredOnce(FakeAgent agent, string runId, params (string Step, int Attempt)[] attempts)
    {
        var expected = attempts.Select(a => new AttemptKey(runId, a.Step, a.Attempt, AgentTaskKind.Step)).ToHashSet();
        var deliveries = FakeAgent.DeliveryCounts([agent]);
        Assert.Equal(expected.Select(k => k.ToString()).Order(), deliveries.Keys.Select(k => k.ToString()).Order());
        Assert.All(deliveries, d => Assert.True(d.Value == 1, $"{d.Key} was delivered {d.Value} times"));
    }

    [Fact]
    public async Task Killed_while_an_agent_holds_step_2_the_restarted_service_takes_the_answer_and_the_run_succeeds()
    {
        var (first, firstApi) = await StartServiceAsync();
        var worker = await AgentAsync("worker", firstApi,
            task => task.StepId == "s2" ? AgentAction.Succeed(new { done = "s2" }).WhenReleased() : AgentAction.Succeed(new { done = task.StepId }));
        await firstApi.PutWorkflowAsync(Wf.Of("crash", Wf.Step("s1", agent: "worker"), Wf.Step("s2", agent: "worker"), Wf.Step("s3", agent: "worker")), Ct);
        var runId = await firstApi.StartRunAsync("crash", cancellationToken: Ct);
        var held = await worker.WaitForTaskAsync(runId, "s2");

        await first.KillAsync();
        held.Release();
        await held.Replied; // the answer waits on the bus: no service is running
        var (second, secondApi) = await StartServiceAsync();
        var run = await secondApi.WaitForRunAsync(runId, because: $"run {runId} ends after the restart{Describe(second)}", cancellationToken: Ct);

        Assert.True(first.HasExited);
        Assert.Equal("SUCCEEDED", Status(run));
        Assert.Equal("s3", run.GetProperty("output").GetProperty("done").GetString());
        Assert.Equal("s2", Step(run, "s2").GetProperty("output").GetProperty("done").GetString());
        Assert.All(run.GetProperty("steps").EnumerateArray(), s => Assert.Equal(1, s.GetProperty("attempts").GetInt32()));
        AssertEachAttemptDeliveredOnce(worker, runId, ("s1", 1), ("s2", 1), ("s3", 1));
        Assert.Empty(worker.Errors);
    }

    [Fact]
    public async Task Killed_while_a_retry_backoff_is_pending_the_restarted_service_fires_the_timer_and_the_run_succeeds()
    {
        var (first, firstApi) = await StartServiceAsync();
        var worker = await AgentAsync("worker", firstApi,
            task => task is { StepId: "s2", Attempt: 1 } ? AgentAction.Fail("try again later") : AgentAction.Succeed());
        await firstApi.PutWorkflowAsync(Wf.Of("backoff",
            Wf.Step("s1", agent: "worker"), Wf.Step("s2", agent: "worker", backoffMs: 3_000), Wf.Step("s3", agent: "worker")), Ct);
        var runId = await firstApi.StartRunAsync("backoff", cancellationToken: Ct);
        var retrying = await firstApi.WaitForRunAsync(runId, r => Step(r, "s2").GetProperty("status").GetString() == "RETRYING",
            because: "s2 fails its first attempt and waits to retry", cancellationToken: Ct);

        await first.KillAsync();
        var killedAt = DateTimeOffset.UtcNow;
        var (second, secondApi) = await StartServiceAsync();
        var run = await secondApi.WaitForRunAsync(runId, because: $"run {runId} ends after the restart{Describe(second)}", cancellationToken: Ct);

        Assert.Equal("RUNNING", Status(retrying));
        Assert.Equal("SUCCEEDED", Status(run));
        var s2 = Step(run, "s2");
        Assert.Equal(2, s2.GetProperty("attempts").GetInt32());
        Assert.Equal("try again later", s2.GetProperty("attemptHistory")[0].GetProperty("error").GetString());
        var retriedAt = s2.GetProperty("attemptHistory")[1].GetProperty("startedAt").GetDateTimeOffset();
        Assert.True(retriedAt > killedAt, $"attempt 2 started at {retriedAt:O}, before the first process was killed at {killedAt:O}");
        AssertEachAttemptDeliveredOnce(worker, runId, ("s1", 1), ("s2", 1), ("s2", 2), ("s3", 1));
        Assert.Empty(worker.Errors);
    }

    [Fact]
    public async Task A_service_process_that_cannot_start_fails_fast_with_its_output()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => ServiceProcess.StartAsync(Service, _redis.ConnectionString,
            new Dictionary<string, string?> { ["Bus:Signing:Keys:0:Secret"] = "too-short" }, cancellationToken: Ct));

        Assert.Contains("exited with code", error.Message);
        Assert.Contains("Secret", error.Message);
    }
}
