using System.Text.Json;
using Agents.Hosting;
using Ai.Gateway.Agents;
using Ai.Gateway.Tests.Fakes;
using Ai.Gateway.Tests.Policy;
using Communication.Bus.Contracts;
using Microsoft.Extensions.Time.Testing;

namespace Ai.Gateway.Tests.Agents;

/// <summary>A hosted agent stops paying for a task once the orchestrator has given up on it (<see cref="AgentTask.DeadlineUnixMs"/>).</summary>
public sealed class HostedAgentDeadlineTests(RedisFixture redis) : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero));
    private FakeGeminiServer _gemini = null!;
    private PolicyGateway _gateway = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _gemini = await FakeGeminiServer.StartNewAsync();
        _gateway = await PolicyGateway.StartAsync(redis, _gemini, [new TestModel("main")]);
    }

    public async ValueTask DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _gemini.DisposeAsync();
    }

    private BusAgent Agent() => HostedAgentSetup.Create(_gateway.Services, "writer",
        new HostedAgentDefinition { Name = "Writer", Capabilities = ["writing"], Model = _gateway.Id("main") }, _time);

    private AgentTask Task(TimeSpan deadlineFromNow) => new()
    {
        RunId = "run-1", WorkflowId = "wf", StepId = "write", Attempt = 1, AgentId = "writer",
        Input = JsonSerializer.SerializeToElement("Write a line."),
        DeadlineUnixMs = (_time.GetUtcNow() + deadlineFromNow).ToUnixTimeMilliseconds(),
    };

    [Fact]
    public async Task The_model_call_is_cancelled_at_the_tasks_deadline()
    {
        _gemini.EnqueueFor(_gateway.Id("main"), FakeReply.Stall());

        var handling = Agent().HandleAsync(Task(TimeSpan.FromSeconds(30)), Ct);
        var upstream = await _gemini.WaitForRequestAsync(0);
        Assert.False(handling.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(30));
        var result = await handling.WaitAsync(TimeSpan.FromSeconds(15), Ct);

        Assert.False(result.Ok);
        Assert.Equal(BusAgent.DeadlinePassed, result.Error);
        await upstream.Aborted.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Single(_gemini.Requests);
    }

    [Fact]
    public async Task A_task_taken_after_its_deadline_calls_no_model()
    {
        var result = await Agent().HandleAsync(Task(TimeSpan.FromSeconds(-1)), Ct);

        Assert.False(result.Ok);
        Assert.Equal(BusAgent.DeadlinePassedBeforeStart, result.Error);
        Assert.Empty(_gemini.Requests);
    }

    [Fact]
    public async Task A_task_without_a_deadline_is_answered()
    {
        var task = Task(TimeSpan.Zero) with { DeadlineUnixMs = 0 };

        var result = await Agent().HandleAsync(task, Ct);

        Assert.True(result.Ok, result.Error);
    }

    [Fact]
    public async Task A_tasks_output_schema_is_asked_of_the_model_and_the_answer_parsed()
    {
        // A debate judge's task carries the shape of its verdict; the agent's own definition has no schema.
        var schema = JsonDocument.Parse("""{"type":"object","required":["decision","consensus"],"properties":{"decision":{"type":"string"},"consensus":{"type":"boolean"}}}""").RootElement;
        _gemini.EnqueueFor(_gateway.Id("main"), GeminiReplies.Text("""{"decision":"Ship the engineer's design.","consensus":true}"""));

        var result = await Agent().HandleAsync(Task(TimeSpan.FromSeconds(30)) with { OutputSchema = schema }, Ct);

        Assert.True(result.Ok, result.Error);
        Assert.Equal("Ship the engineer's design.", result.Output!.Value.GetProperty("data").GetProperty("decision").GetString());
        Assert.True(result.Output!.Value.GetProperty("data").GetProperty("consensus").GetBoolean());
        var config = System.Text.Json.Nodes.JsonNode.Parse(Assert.Single(_gemini.Requests).Body)!["generationConfig"]!;
        Assert.True(System.Text.Json.Nodes.JsonNode.DeepEquals(System.Text.Json.Nodes.JsonNode.Parse(schema.GetRawText()), config["responseJsonSchema"]));
    }
}
