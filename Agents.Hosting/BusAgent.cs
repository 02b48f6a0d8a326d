using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Communication.Bus.Contracts;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;

namespace Agents.Hosting;

/// <summary>
/// Does one <see cref="AgentTask"/> with an <see cref="AIAgent"/>: the task's input becomes the agent's message (strings
/// as they are, objects as one section per field), its <see cref="AgentTask.OutputSchema"/> the run's JSON response
/// format, its deadline the run's cancellation; the answer becomes an <see cref="AgentTaskResult"/> with output
/// <c>{ agent, text, data }</c> (<c>data</c>: the answer as JSON when it is JSON, in a Markdown code fence or not) and
/// the model, usage and cost behind it.
/// </summary>
public sealed class BusAgent
{
    private static readonly JsonSerializerOptions Indented = new(JsonSerializerOptions.Web) { WriteIndented = true };
    private readonly BusAgentOptions _options;
    private readonly TimeProvider _time;

    /// <summary>Creates the runner of <paramref name="agent"/>.</summary>
    /// <param name="agent">The agent that does the work.</param>
    /// <param name="options">The agent's bus options (its id, compensation instructions, retryable failures).</param>
    /// <param name="time">The clock the task's deadline is read with; the system clock when null.</param>
    public BusAgent(AIAgent agent, BusAgentOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Id);
        Agent = agent;
        _options = options;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The agent id on the bus.</summary>
    public string Id => _options.Id;

    /// <summary>The agent that does the work.</summary>
    public AIAgent Agent { get; }

    /// <summary>The error of a task whose deadline had passed before the agent took it (nothing was run).</summary>
    public const string DeadlinePassedBeforeStart = "The task's deadline had passed before the agent took it; no model was called.";

    /// <summary>The error of a task whose deadline passed while the agent worked (the run was cancelled).</summary>
    public const string DeadlinePassed = "The task's deadline passed during the model call, which was cancelled.";

    /// <summary>
    /// Does the task and returns the result to send back; never throws for a failed run of the agent (the failure is
    /// the result, retryable as <see cref="BusAgentOptions.IsRetryable"/> says). The run is cancelled at the task's
    /// deadline (<see cref="AgentTask.DeadlineUnixMs"/>, 0 for none): the orchestrator has given up on the attempt then.
    /// </summary>
    /// <param name="task">The task.</param>
    /// <param name="cancellationToken">Cancels the work (shutdown); an <see cref="OperationCanceledException"/> then.</param>
    public async Task<AgentTaskResult> HandleAsync(AgentTask task, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(task);
        using var activity = BusAgentTelemetry.Source.StartActivity($"invoke_agent {Id}", ActivityKind.Internal);
        activity?.SetTag("gen_ai.operation.name", "invoke_agent");
        activity?.SetTag("gen_ai.agent.id", Id);
        activity?.SetTag("gen_ai.agent.name", Agent.Name ?? Id);
        activity?.SetTag("agentteam.run_id", task.RunId);
        activity?.SetTag("agentteam.step_id", task.StepId);
        activity?.SetTag("agentteam.attempt", task.Attempt);
        activity?.SetTag("agentteam.task_kind", task.Kind == AgentTaskKind.Compensation ? "compensation" : "step");

        var result = await RunAsync(task, cancellationToken).ConfigureAwait(false);
        if (!result.Ok)
        {
            activity?.SetStatus(ActivityStatusCode.Error, result.Error);
        }

        return result;
    }

    private async Task<AgentTaskResult> RunAsync(AgentTask task, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var remaining = task.DeadlineUnixMs > 0
            ? DateTimeOffset.FromUnixTimeMilliseconds(task.DeadlineUnixMs) - _time.GetUtcNow()
            : Timeout.InfiniteTimeSpan;
        if (task.DeadlineUnixMs > 0 && remaining <= TimeSpan.Zero)
        {
            return Result(task, ok: false, output: null, DeadlinePassedBeforeStart, retryable: true, metadata: null);
        }

        var options = task.OutputSchema is { ValueKind: JsonValueKind.Object } schema
            ? new AgentRunOptions { ResponseFormat = ChatResponseFormat.ForJsonSchema(schema, "output") }
            : null;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var timer = remaining == Timeout.InfiniteTimeSpan ? null : _time.CreateTimer(static s => ((CancellationTokenSource)s!).Cancel(), deadline, remaining, Timeout.InfiniteTimeSpan);
        try
        {
            var response = await Agent.RunAsync(Messages(task), session: null, options, deadline.Token).ConfigureAwait(false);
            var text = response.Text;
            var output = JsonSerializer.SerializeToElement(new { agent = Id, text, data = JsonOf(text) }, JsonSerializerOptions.Web);
            return Result(task, ok: true, output, error: null, retryable: false, Metadata(response, started));
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return Result(task, ok: false, output: null, DeadlinePassed, retryable: true, metadata: null);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return Result(task, ok: false, output: null, ex.Message, retryable: _options.IsRetryable(ex), metadata: null);
        }
    }

    /// <summary>The messages the agent gets for a task: compensation instructions (for a compensation) and the input.</summary>
    private List<ChatMessage> Messages(AgentTask task)
    {
        var messages = new List<ChatMessage>(2);
        if (task.Kind == AgentTaskKind.Compensation)
        {
            messages.Add(new ChatMessage(ChatRole.System, _options.CompensationInstructions));
        }

        messages.Add(new ChatMessage(ChatRole.User, Describe(task)));
        return messages;
    }

    /// <summary>The task's input as readable text: each field a section, strings as they are.</summary>
    public static string Describe(AgentTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        var input = task.Input;
        if (input.ValueKind == JsonValueKind.String)
        {
            return input.GetString()!;
        }

        if (input.ValueKind != JsonValueKind.Object)
        {
            return input.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null ? $"Step: {task.StepId}" : input.GetRawText();
        }

        var text = new StringBuilder();
        foreach (var field in input.EnumerateObject())
        {
            text.Append("## ").AppendLine(field.Name);
            text.AppendLine(field.Value.ValueKind == JsonValueKind.String
                ? field.Value.GetString()
                : JsonSerializer.Serialize(field.Value, Indented));
            text.AppendLine();
        }

        return text.Length == 0 ? $"Step: {task.StepId}" : text.ToString().TrimEnd();
    }

    // An answer that is a JSON object or array (an output schema was asked, or the agent answers in JSON) is also data,
    // also when the model put it in a Markdown code fence (```json ... ```), as models often do.
    private static JsonElement? JsonOf(string text)
    {
        var trimmed = WithoutFence(text.AsSpan().Trim());
        if (trimmed.IsEmpty || (trimmed[0] != '{' && trimmed[0] != '['))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(trimmed.ToString());
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static ReadOnlySpan<char> WithoutFence(ReadOnlySpan<char> text)
    {
        if (!text.StartsWith("```", StringComparison.Ordinal))
        {
            return text;
        }

        var firstLine = text.IndexOf('\n');
        var closing = text.LastIndexOf("```", StringComparison.Ordinal);
        return firstLine > 0 && closing > firstLine ? text[(firstLine + 1)..closing].Trim() : text;
    }

    private AgentWorkMetadata? Metadata(AgentResponse response, long started)
    {
        var chat = response.RawRepresentation as ChatResponse;
        var model = chat?.ModelId;
        var usage = response.Usage ?? chat?.Usage;
        var cost = Property(response, chat, BusAgentResponseProperties.CostUsd);
        var fallbacks = Property(response, chat, BusAgentResponseProperties.Fallbacks);
        return new AgentWorkMetadata
        {
            Model = model,
            InputTokens = usage?.InputTokenCount ?? 0,
            OutputTokens = usage?.OutputTokenCount ?? 0,
            TotalTokens = usage?.TotalTokenCount ?? (usage?.InputTokenCount ?? 0) + (usage?.OutputTokenCount ?? 0),
            CostUsd = cost switch
            {
                decimal d => d,
                IConvertible c => c.ToDecimal(CultureInfo.InvariantCulture),
                _ => 0m,
            },
            LatencyMs = (long)_time.GetElapsedTime(started).TotalMilliseconds,
            Fallbacks = fallbacks as IReadOnlyList<string>,
        };
    }

    private static object? Property(AgentResponse response, ChatResponse? chat, string key) =>
        response.AdditionalProperties?.TryGetValue(key, out var value) == true ? value
        : chat?.AdditionalProperties?.TryGetValue(key, out var inner) == true ? inner
        : null;

    private AgentTaskResult Result(AgentTask task, bool ok, JsonElement? output, string? error, bool retryable, AgentWorkMetadata? metadata) => new()
    {
        RunId = task.RunId,
        StepId = task.StepId,
        Attempt = task.Attempt,
        Kind = task.Kind,
        Ok = ok,
        Output = output,
        Error = error,
        Retryable = retryable,
        AgentId = Id,
        Metadata = metadata,
    };
}
