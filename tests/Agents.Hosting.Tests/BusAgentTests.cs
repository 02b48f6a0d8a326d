using System.Text.Json;
using Communication.Bus.Contracts;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Time.Testing;

namespace Agents.Hosting.Tests;

/// <summary>How a task becomes an Agent Framework run and the run a TASK_RESULT (a real ChatClientAgent over a scripted chat client).</summary>
public sealed class BusAgentTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
    private readonly ScriptedChatClient _chat = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private BusAgent Agent(Func<Exception, bool>? isRetryable = null) => new(
        new ChatClientAgent(_chat, instructions: "You are a careful writer.", name: "Writer"),
        new BusAgentOptions { Id = "writer", Capabilities = ["writing"], IsRetryable = isRetryable ?? (_ => true) },
        _time);

    private AgentTask Task(object input, TimeSpan? deadlineFromNow = null, AgentTaskKind kind = AgentTaskKind.Step) => new()
    {
        RunId = "run-1", WorkflowId = "wf", StepId = "draft", Attempt = 2, AgentId = "writer", Kind = kind,
        Input = JsonSerializer.SerializeToElement(input),
        DeadlineUnixMs = deadlineFromNow is { } d ? (_time.GetUtcNow() + d).ToUnixTimeMilliseconds() : 0,
    };

    [Fact]
    public async Task An_object_input_is_one_section_per_field_and_the_answer_is_the_output_with_model_usage_and_cost()
    {
        _chat.Answer = (_, _, _) =>
        {
            var reply = ScriptedChatClient.Reply("A habit tracker in three lines.");
            reply.AdditionalProperties = new() { [BusAgentResponseProperties.CostUsd] = 0.0042m, [BusAgentResponseProperties.Fallbacks] = new List<string> { "big-model" } };
            return System.Threading.Tasks.Task.FromResult(reply);
        };

        var result = await Agent().HandleAsync(Task(new { request = "A habit tracker", constraints = new[] { "offline" } }), Ct);

        Assert.True(result.Ok, result.Error);
        Assert.Equal(("run-1", "draft", 2, "writer"), (result.RunId, result.StepId, result.Attempt, result.AgentId));
        Assert.Equal("writer", result.Output!.Value.GetProperty("agent").GetString());
        Assert.Equal("A habit tracker in three lines.", result.Output.Value.GetProperty("text").GetString());
        Assert.Equal(JsonValueKind.Null, result.Output.Value.GetProperty("data").ValueKind);
        Assert.Equal(("scripted-model", 7L, 5L, 12L), (result.Metadata!.Model, result.Metadata.InputTokens, result.Metadata.OutputTokens, result.Metadata.TotalTokens));
        Assert.Equal(0.0042m, result.Metadata.CostUsd);
        Assert.Equal(["big-model"], result.Metadata.Fallbacks!);

        var (messages, options) = Assert.Single(_chat.Calls);
        var user = messages.Last(m => m.Role == ChatRole.User).Text;
        Assert.Equal("## request\nA habit tracker\n\n## constraints\n[\n  \"offline\"\n]", user.ReplaceLineEndings("\n"));
        var instructions = (options?.Instructions ?? "") + string.Join("\n", messages.Where(m => m.Role == ChatRole.System).Select(m => m.Text));
        Assert.Contains("You are a careful writer.", instructions, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tasks_output_schema_is_the_runs_json_response_format_and_the_json_answer_is_its_data()
    {
        var schema = JsonDocument.Parse("""{"type":"object","required":["decision"],"properties":{"decision":{"type":"string"}}}""").RootElement;
        _chat.Answer = (_, _, _) => System.Threading.Tasks.Task.FromResult(ScriptedChatClient.Reply("""{"decision":"Ship it."}"""));

        var result = await Agent().HandleAsync(Task("Judge the proposals.") with { OutputSchema = schema }, Ct);

        Assert.True(result.Ok, result.Error);
        Assert.Equal("Ship it.", result.Output!.Value.GetProperty("data").GetProperty("decision").GetString());
        var (messages, options) = Assert.Single(_chat.Calls);
        Assert.Equal("Judge the proposals.", messages.Last(m => m.Role == ChatRole.User).Text);
        var format = Assert.IsType<ChatResponseFormatJson>(options?.ResponseFormat);
        Assert.True(JsonElement.DeepEquals(schema, format.Schema!.Value), format.Schema.Value.GetRawText());
    }

    [Fact]
    public async Task A_json_answer_in_a_markdown_code_fence_is_also_data()
    {
        const string Fenced = "```json\n{\"decision\":\"Ship it.\"}\n```";
        _chat.Answer = (_, _, _) => System.Threading.Tasks.Task.FromResult(ScriptedChatClient.Reply(Fenced));

        var result = await Agent().HandleAsync(Task("Judge the proposals."), Ct);

        Assert.True(result.Ok, result.Error);
        Assert.Equal(Fenced, result.Output!.Value.GetProperty("text").GetString());
        Assert.Equal("Ship it.", result.Output.Value.GetProperty("data").GetProperty("decision").GetString());
    }

    [Fact]
    public async Task A_task_taken_after_its_deadline_runs_no_agent()
    {
        var result = await Agent().HandleAsync(Task("Too late.", TimeSpan.FromSeconds(-1)), Ct);

        Assert.False(result.Ok);
        Assert.True(result.Retryable);
        Assert.Equal(BusAgent.DeadlinePassedBeforeStart, result.Error);
        Assert.Empty(_chat.Calls);
    }

    [Fact]
    public async Task The_run_is_cancelled_at_the_tasks_deadline()
    {
        var called = new TaskCompletionSource();
        var cancelled = new TaskCompletionSource();
        _chat.Answer = async (_, _, ct) =>
        {
            using var _ = ct.Register(() => cancelled.TrySetResult());
            called.TrySetResult();
            await System.Threading.Tasks.Task.Delay(Timeout.InfiniteTimeSpan, ct);
            throw new InvalidOperationException("unreachable");
        };

        var handling = Agent().HandleAsync(Task("Slow work.", TimeSpan.FromSeconds(30)), Ct);
        await called.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.False(handling.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(30));
        var result = await handling.WaitAsync(TimeSpan.FromSeconds(10), Ct);

        Assert.True(cancelled.Task.IsCompleted);
        Assert.False(result.Ok);
        Assert.Equal(BusAgent.DeadlinePassed, result.Error);
    }

    [Fact]
    public async Task A_failing_agent_answers_a_failed_result_retryable_as_the_options_say()
    {
        _chat.Answer = (_, _, _) => throw new ArgumentException("The model refused the request.");

        var retryable = await Agent().HandleAsync(Task("Anything."), Ct);
        var final = await Agent(ex => ex is not ArgumentException).HandleAsync(Task("Anything."), Ct);

        Assert.False(retryable.Ok);
        Assert.Equal("The model refused the request.", retryable.Error);
        Assert.True(retryable.Retryable);
        Assert.False(final.Retryable);
    }

    [Fact]
    public async Task A_compensation_task_carries_the_compensation_instructions()
    {
        var result = await Agent().HandleAsync(Task(new { undo = "the draft" }, kind: AgentTaskKind.Compensation), Ct);

        Assert.True(result.Ok, result.Error);
        Assert.Equal(AgentTaskKind.Compensation, result.Kind);
        var (messages, _) = Assert.Single(_chat.Calls);
        Assert.Contains(messages, m => m.Role == ChatRole.System && m.Text == BusAgentOptions.DefaultCompensationInstructions);
    }

    [Fact]
    public void Options_name_the_configuration_key_at_fault()
    {
        var validator = new BusAgentOptionsValidator();

        var result = validator.Validate("writer", new BusAgentOptions { Id = "other", Capabilities = [""], HeartbeatTtlSeconds = 1, ClaimIdleTime = TimeSpan.Zero });

        Assert.True(result.Failed);
        var text = string.Join("\n", result.Failures);
        Assert.Contains("Agents:writer:Id", text, StringComparison.Ordinal);
        Assert.Contains("Agents:writer:Capabilities", text, StringComparison.Ordinal);
        Assert.Contains("Agents:writer:HeartbeatTtlSeconds", text, StringComparison.Ordinal);
        Assert.Contains("Agents:writer:ClaimIdleTime", text, StringComparison.Ordinal);
        Assert.True(validator.Validate("writer", new BusAgentOptions { Id = "writer", Capabilities = ["writing"] }).Succeeded);
    }
}
