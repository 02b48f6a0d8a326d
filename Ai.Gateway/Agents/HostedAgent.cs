using System.Text;
using System.Text.Json;
using Ai.Gateway.Generation;
using Ai.Gateway.Policy;
using Communication.Bus;
using Communication.Bus.Contracts;

namespace Ai.Gateway.Agents;

/// <summary>
/// One hosted agent at work: turns a TASK into a generation through the gateway's policy (so its
/// routing, shared limits, retries and fallback apply), and answers with a TASK_RESULT carrying the
/// output and the model, usage, cost and latency behind it.
/// </summary>
public sealed class HostedAgent(string id, HostedAgentDefinition definition, string language, GenerationService generation, TimeProvider time)
{
    public string Id { get; } = id;

    public string Topic { get; } = string.IsNullOrWhiteSpace(definition.Topic) ? $"agent.{id}" : definition.Topic;

    public HostedAgentDefinition Definition { get; } = definition;

    /// <summary>
    /// Does the task and returns the result to send back; never throws for a failed generation. The model
    /// call is cancelled at the task's deadline (<see cref="AgentTask.DeadlineUnixMs"/>, 0 for none): the
    /// orchestrator has given up on the attempt then, so nothing more is paid for it.
    /// </summary>
    public async Task<AgentTaskResult> HandleAsync(AgentTask task, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var remaining = task.DeadlineUnixMs > 0
            ? DateTimeOffset.FromUnixTimeMilliseconds(task.DeadlineUnixMs) - time.GetUtcNow()
            : Timeout.InfiniteTimeSpan;
        if (task.DeadlineUnixMs > 0 && remaining <= TimeSpan.Zero)
        {
            return Result(task, ok: false, output: null, DeadlinePassedBeforeStart, retryable: true, metadata: null);
        }

        var request = new GenerateRequest
        {
            System = SystemPrompt(task.Kind),
            Input = Describe(task),
            Model = Definition.Model,
            Route = Definition.Route,
            Tools = Definition.Tools.Count > 0 ? Definition.Tools : null,
            // The task's own schema (a debate judge's scores) wins over the agent's configured one.
            Schema = task.OutputSchema is { ValueKind: JsonValueKind.Object } wanted ? wanted
                : Definition.OutputSchema is { Length: > 0 } schema ? JsonDocument.Parse(schema).RootElement.Clone() : null,
        };

        using var deadline = time.StartDeadline(remaining, cancellationToken);
        try
        {
            var answer = await generation.GenerateAsync(request, deadline.Token);
            var output = JsonSerializer.SerializeToElement(new { agent = Id, text = answer.Output, data = answer.Data }, JsonSerializerOptions.Web);
            return Result(task, ok: true, output, error: null, retryable: false, new AgentWorkMetadata
            {
                Model = answer.Model,
                InputTokens = answer.Usage.InputTokens,
                OutputTokens = answer.Usage.OutputTokens,
                TotalTokens = answer.Usage.TotalTokens,
                CostUsd = answer.CostUsd,
                LatencyMs = (long)time.GetElapsedTime(started).TotalMilliseconds,
                Fallbacks = answer.Fallbacks,
            });
        }
        catch (OperationCanceledException) when (deadline.HasExpired)
        {
            return Result(task, ok: false, output: null, DeadlinePassed, retryable: true, metadata: null);
        }
        catch (Exception ex) when (ex is GenerateValidationException or InvalidModelOutputException or AllModelsFailedException or GatewayTimeoutException)
        {
            // A request the gateway refuses will be refused again; everything else may pass later.
            return Result(task, ok: false, output: null, ex.Message, retryable: ex is not GenerateValidationException, metadata: null);
        }
    }

    public const string DeadlinePassedBeforeStart = "The task's deadline had passed before the agent took it; no model was called.";

    public const string DeadlinePassed = "The task's deadline passed during the model call, which was cancelled.";

    private string SystemPrompt(AgentTaskKind kind)
    {
        var prompt = Definition.Prompts.GetValueOrDefault(language) ?? Definition.Prompts.GetValueOrDefault("en") ?? $"You are {Definition.Name}.";
        return kind == AgentTaskKind.Compensation
            ? prompt + (language == "ar"
                ? "\n\nهذه مهمة تعويض: فشلت خطوة لاحقة في سير العمل. صِف كيف تتراجع عن عملك السابق الموضَّح في المدخلات، خطوةً بخطوة."
                : "\n\nThis is a compensation task: a later step of the workflow failed. Describe, step by step, how to undo your earlier work given in the input.")
            : prompt;
    }

    /// <summary>The task's input as readable text: each field a section, strings as they are.</summary>
    private static string Describe(AgentTask task)
    {
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

    private static readonly JsonSerializerOptions Indented = new(JsonSerializerOptions.Web) { WriteIndented = true };

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

    /// <summary>Sends the result to where the task asked for it.</summary>
    public static Task ReplyAsync(IMessageBus bus, BusMessage request, AgentTaskResult result, CancellationToken cancellationToken) =>
        bus.ReplyAsync(request, result, MessageType.TaskResult, cancellationToken);
}
