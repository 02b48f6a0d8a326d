using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using StackExchange.Redis;
using static Orchestration.Api.Tests.Integration.OrchestrationClient;

namespace Orchestration.Api.Tests.Integration;

/// <summary>
/// Issue 9, bounded work per request, with the issue's own repro against the real service and Redis: one step-input
/// template with 100 copies of a 500 KB input (it rendered 50 MB, stored 50 MB in Redis and re-sent the oversized task
/// every ~3 s until the step timed out). A definition that is over the bound by itself is refused at PUT; a render
/// past the bound fails the step once, sends nothing, schedules nothing and stores a bounded run.
/// </summary>
public sealed class BoundedTemplateTests : IntegrationTest
{
    private const int InputChars = 500_000;

    private static Dictionary<string, object> HundredCopies(string placeholder) =>
        Enumerable.Range(0, 100).ToDictionary(i => $"copy{i}", _ => (object)placeholder);

    [Fact]
    public async Task The_issues_repro_fails_the_step_once_sends_nothing_and_stores_a_bounded_run()
    {
        var worker = await AgentAsync("worker");
        await Api.PutWorkflowAsync(Wf.Of("huge", Wf.Step("s1", agent: "worker", maxAttempts: 3, timeoutMs: 20_000, input: HundredCopies("{{input.big}}"))), Ct);

        // The render fails in the first transition, so the start may already answer with the ended run.
        var (status, started) = await Api.TryStartRunAsync("huge", new { big = new string('x', InputChars) }, cancellationToken: Ct);
        Assert.True(status is HttpStatusCode.Created or HttpStatusCode.OK or HttpStatusCode.Accepted, $"{(int)status}: {started}");
        var runId = started.GetProperty("runId").GetString()!;
        var run = await Api.WaitForRunAsync(runId, cancellationToken: Ct);

        Assert.Equal("FAILED", Status(run));
        var error = Step(run, "s1").GetProperty("error").GetString()!;
        Assert.Contains("over the limit of 262144 bytes (Orchestration:MaxStepInputBytes)", error);
        Assert.Equal(1, Step(run, "s1").GetProperty("attempts").GetInt32());

        // Nothing was sent and nothing is left that could send it again: no task on the agent's stream, an empty
        // outbox, no wakeup of the run in any shard.
        var db = RedisClient.GetDatabase();
        Assert.Equal(0, worker.Deliveries(runId, "s1"));
        Assert.Equal(0, await db.StreamLengthAsync($"bus:{{{worker.Topic}}}"));
        Assert.Equal(0, await db.HashLengthAsync($"orch:run:{{{runId}}}:outbox"));
        foreach (var wakeups in await KeysAsync("orch:{wakeups:*}"))
        {
            Assert.Null(await db.SortedSetScoreAsync(wakeups, runId));
        }

        // The run's keys hold its input (and the started event's copy of it), not 100 renders of it.
        var stored = 0L;
        foreach (var key in await KeysAsync($"orch:run:{{{runId}}}*"))
        {
            stored += (long)(await db.ExecuteAsync("MEMORY", "USAGE", key, "SAMPLES", "0"));
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"the run's keys take {stored:N0} bytes (MEMORY USAGE)");
        Assert.True(stored < 3 * InputChars, $"the run's keys take {stored:N0} bytes");
    }

    [Fact]
    public async Task A_large_step_output_repeated_by_the_next_steps_template_fails_that_step_once()
    {
        var writer = await AgentAsync("writer", _ => AgentAction.Succeed(new { text = new string('y', 400_000) }));
        var reader = await AgentAsync("reader");
        var copies = Wf.Step("s2", agent: "reader", maxAttempts: 3, timeoutMs: 20_000, input: HundredCopies("{{steps.s1.output.text}}"));
        copies["dependsOn"] = new JsonArray("s1");
        await Api.PutWorkflowAsync(Wf.Of("huge-output", Wf.Step("s1", agent: "writer", maxAttempts: 1), copies), Ct);

        var run = await Api.WaitForRunAsync(await Api.StartRunAsync("huge-output", cancellationToken: Ct), cancellationToken: Ct);
        var runId = run.GetProperty("runId").GetString()!;

        Assert.Equal("FAILED", Status(run));
        Assert.Equal("SUCCEEDED", Step(run, "s1").GetProperty("status").GetString());
        Assert.Contains("Orchestration:MaxStepInputBytes", Step(run, "s2").GetProperty("error").GetString());
        Assert.Equal(1, Step(run, "s2").GetProperty("attempts").GetInt32());
        Assert.Equal(0, reader.Deliveries(runId, "s2"));
        Assert.Equal(0, await RedisClient.GetDatabase().StreamLengthAsync($"bus:{{{reader.Topic}}}"));
    }

    [Theory]
    [InlineData(false, "steps[0].input")]
    [InlineData(true, "steps[0].compensate.input")]
    public async Task A_template_whose_own_text_is_over_the_bound_is_refused_at_put_and_not_stored(bool inCompensation, string field)
    {
        var literal = new JsonObject { ["text"] = new string('z', 300_000), ["topic"] = "{{input.topic}}" };
        var step = Wf.Step("s1", agent: "worker", input: inCompensation ? null : literal);
        if (inCompensation)
        {
            step["compensate"] = new JsonObject { ["agent"] = "undo", ["input"] = literal };
        }

        using var response = await Api.PutAsJsonAsync("/api/workflows/too-big", Wf.Of("too-big", step), Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);

        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {text[..Math.Min(text.Length, 500)]}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var errors = System.Text.Json.JsonDocument.Parse(text).RootElement.GetProperty("errors");
        Assert.Contains("Orchestration:MaxStepInputBytes", errors.GetProperty(field)[0].GetString());
        using var get = await Api.GetAsync("/api/workflows/too-big", Ct);
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    private async Task<List<RedisKey>> KeysAsync(string pattern)
    {
        var server = RedisClient.GetServers()[0];
        var keys = new List<RedisKey>();
        await foreach (var key in server.KeysAsync(pattern: pattern))
        {
            keys.Add(key);
        }

        return keys;
    }
}
