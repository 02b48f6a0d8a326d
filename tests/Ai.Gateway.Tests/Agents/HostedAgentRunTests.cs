using System.Text.Json;
using System.Text.Json.Nodes;
using Agents.Hosting;
using Ai.Gateway.Agents;
using Ai.Gateway.Tests.Fakes;
using Ai.Gateway.Tests.Policy;
using Communication.Bus.Contracts;

namespace Ai.Gateway.Tests.Agents;

/// <summary>
/// A hosted agent (a Microsoft Agent Framework agent on the gateway's chat pipeline) does a task through the gateway's
/// policy: fallback, usage and cost of every round, its tools, its own or the task's output schema, the JSON repair.
/// </summary>
public sealed class HostedAgentRunTests(RedisFixture redis) : IAsyncLifetime
{
    private static readonly JsonElement Verdict = JsonDocument.Parse("""{"type":"object","required":["decision"],"properties":{"decision":{"type":"string"}}}""").RootElement;
    private FakeGeminiServer _gemini = null!;
    private PolicyGateway _gateway = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _gemini = await FakeGeminiServer.StartNewAsync();
        _gateway = await PolicyGateway.StartAsync(redis, _gemini, [new TestModel("main", Fallbacks: ["spare"]), new TestModel("spare")]);
    }

    public async ValueTask DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _gemini.DisposeAsync();
    }

    private BusAgent Agent(string? outputSchema = null, params string[] tools) => HostedAgentSetup.Create(_gateway.Services, "writer",
        new HostedAgentDefinition { Name = "Writer", Capabilities = ["writing"], Model = _gateway.Id("main"), OutputSchema = outputSchema, Tools = [.. tools] },
        TimeProvider.System);

    private static AgentTask Task(string input) => new()
    {
        RunId = "run-1", WorkflowId = "wf", StepId = "write", Attempt = 1, AgentId = "writer",
        Input = JsonSerializer.SerializeToElement(input),
    };

    private JsonNode? RequestedSchema(int request) => JsonNode.Parse(_gemini.Requests[request].Body)!["generationConfig"]?["responseJsonSchema"];

    [Fact]
    public async Task The_answer_of_a_fallback_model_reports_that_model_its_usage_cost_and_the_fallback()
    {
        _gemini.EnqueueFor(_gateway.Id("main"), GeminiReplies.Error(400, "INVALID_ARGUMENT", "no"));
        _gemini.EnqueueFor(_gateway.Id("spare"), GeminiReplies.Text("A line."));

        var result = await Agent().HandleAsync(Task("Write a line."), Ct);

        Assert.True(result.Ok, result.Error);
        Assert.Equal("A line.", result.Output!.Value.GetProperty("text").GetString());
        var metadata = result.Metadata!;
        Assert.Equal(_gateway.Id("spare"), metadata.Model);
        Assert.Equal((10L, 5L, 15L), (metadata.InputTokens, metadata.OutputTokens, metadata.TotalTokens));
        // 10 input tokens at $1/M + 5 output tokens at $2/M.
        Assert.Equal(0.00002m, metadata.CostUsd);
        Assert.Equal([_gateway.Id("spare")], metadata.Fallbacks!);
    }

    [Fact]
    public async Task An_allowed_tool_is_run_and_the_usage_and_cost_count_every_round()
    {
        _gemini.EnqueueFor(_gateway.Id("main"),
            GeminiReplies.Parts(GeminiReplies.CallPart("calculate", new JsonObject { ["expression"] = "2+3" })),
            GeminiReplies.Text("It is 5."));

        var result = await Agent(null, "calculate").HandleAsync(Task("What is 2+3?"), Ct);

        Assert.True(result.Ok, result.Error);
        Assert.Equal("It is 5.", result.Output!.Value.GetProperty("text").GetString());
        Assert.Equal(2, _gemini.Requests.Count);
        var answered = JsonNode.Parse(_gemini.Requests[1].Body)!["contents"]![2]!["parts"]![0]!["functionResponse"]!;
        Assert.Equal("calculate", (string?)answered["name"]);
        Assert.Equal((20L, 10L, 30L, 0.00004m), (result.Metadata!.InputTokens, result.Metadata.OutputTokens, result.Metadata.TotalTokens, result.Metadata.CostUsd));
    }

    [Fact]
    public async Task A_tool_the_gateway_does_not_have_fails_the_task_for_good_without_a_model_call()
    {
        var result = await Agent(null, "no-such-tool").HandleAsync(Task("Anything."), Ct);

        Assert.False(result.Ok);
        Assert.False(result.Retryable);
        Assert.Contains("no-such-tool", result.Error, StringComparison.Ordinal);
        Assert.Empty(_gemini.Requests);
    }

    [Fact]
    public async Task The_agents_own_output_schema_is_asked_when_the_task_has_none_and_the_tasks_schema_wins_over_it()
    {
        var own = """{"type":"object","required":["summary"],"properties":{"summary":{"type":"string"}}}""";
        _gemini.EnqueueFor(_gateway.Id("main"), GeminiReplies.Text("""{"summary":"Short."}"""), GeminiReplies.Text("""{"decision":"Ship it."}"""));
        var agent = Agent(own);

        var plain = await agent.HandleAsync(Task("Summarise."), Ct);
        var judged = await agent.HandleAsync(Task("Judge.") with { OutputSchema = Verdict }, Ct);

        Assert.True(plain.Ok, plain.Error);
        Assert.Equal("Short.", plain.Output!.Value.GetProperty("data").GetProperty("summary").GetString());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(own), RequestedSchema(0)));
        Assert.True(judged.Ok, judged.Error);
        Assert.Equal("Ship it.", judged.Output!.Value.GetProperty("data").GetProperty("decision").GetString());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(Verdict.GetRawText()), RequestedSchema(1)));
    }

    [Fact]
    public async Task An_answer_that_breaks_the_schema_is_repaired_once_and_the_result_is_the_repaired_answer()
    {
        _gemini.EnqueueFor(_gateway.Id("main"), GeminiReplies.Text("I think we should ship."), GeminiReplies.Text("```json\n{\"decision\":\"Ship it.\"}\n```"));

        var result = await Agent().HandleAsync(Task("Judge.") with { OutputSchema = Verdict }, Ct);

        Assert.True(result.Ok, result.Error);
        Assert.Equal(2, _gemini.Requests.Count);
        Assert.Equal("```json\n{\"decision\":\"Ship it.\"}\n```", result.Output!.Value.GetProperty("text").GetString());
        Assert.Equal("Ship it.", result.Output.Value.GetProperty("data").GetProperty("decision").GetString());
        Assert.Equal(30L, result.Metadata!.TotalTokens);
    }

    [Fact]
    public async Task An_answer_that_stays_wrong_after_the_repair_fails_the_task_and_may_be_retried()
    {
        _gemini.EnqueueFor(_gateway.Id("main"), GeminiReplies.Text("no"), GeminiReplies.Text("still no"));

        var result = await Agent().HandleAsync(Task("Judge.") with { OutputSchema = Verdict }, Ct);

        Assert.False(result.Ok);
        Assert.True(result.Retryable);
        Assert.Equal("The model's answer did not match the requested JSON.", result.Error);
    }

    [Fact]
    public void Arabic_agents_get_arabic_compensation_instructions_and_the_registration_says_where_they_run()
    {
        var options = new BusAgentOptions();

        HostedAgentFactory.Configure(options, "team-leader", new HostedAgentDefinition { Name = "Team Leader", Capabilities = ["planning"], Language = "ar" },
            new HostedAgentsOptions { ApiKey = "gateway-key-0123456789", Concurrency = 2, HeartbeatTtlSeconds = 60 });

        Assert.Equal(HostedAgentFactory.CompensationInstructions["ar"], options.CompensationInstructions);
        Assert.Equal(("team-leader", "Team Leader", "agent.team-leader"), (options.Id, options.Name, options.EffectiveTopic));
        Assert.Equal(["planning"], options.Capabilities);
        Assert.Equal(("ai-gateway", "llm"), (options.Metadata["host"], options.Metadata["kind"]));
        Assert.Equal((true, 2, 60, TimeSpan.FromMinutes(5)), (options.Register, options.Concurrency, options.HeartbeatTtlSeconds, options.ClaimIdleTime));
        Assert.False(options.IsRetryable(new Ai.Gateway.Generation.GenerateValidationException(new Dictionary<string, string[]>())));
        Assert.True(options.IsRetryable(new InvalidOperationException()));
    }
}
