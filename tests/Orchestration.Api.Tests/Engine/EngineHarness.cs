using System.Text.Json;
using Communication.Bus.Contracts;
using Microsoft.Extensions.Time.Testing;
using Orchestration.Api.Engine;
using Orchestration.Api.Model;

namespace Orchestration.Api.Tests.Engine;

/// <summary>What a scripted agent does with a task: answer (after a delay) or stay silent.</summary>
public sealed record AgentReply(AgentTaskResult? Result, TimeSpan Delay)
{
    public static AgentReply Silent => new(null, TimeSpan.Zero);
}

/// <summary>
/// Drives <see cref="RunReducer"/> with a <see cref="FakeTimeProvider"/> and scripted agents: it
/// delivers results, advances the clock to the next timer or reply, and records every event.
/// </summary>
public sealed class EngineHarness
{
    private readonly List<(DateTimeOffset At, AgentTaskResult Result, string MessageId, string Sender)> _inFlight = [];

    public EngineHarness(WorkflowDefinition workflow, object? input = null)
    {
        Run = RunFactory.Create("run-1", workflow, JsonSerializer.SerializeToElement(input ?? new { }), Clock.GetUtcNow());
    }

    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));

    /// <summary>The run as the reducer left it (settable: a test may start from a child run or a deeper one).</summary>
    public RunState Run { get; set; }

    public List<AgentCandidate> Agents { get; } = [];

    public RunLimits Limits { get; set; } = RunLimits.Default;

    public List<RunEvent> Events { get; } = [];

    public List<TaskDispatch> Dispatched { get; } = [];

    /// <summary>Every command the transitions asked of other runs (child starts, cancels, end notices).</summary>
    public List<RunCommand> Commands { get; } = [];

    /// <summary>How agents answer; the default succeeds with an output naming the step and attempt.</summary>
    public Func<AgentTask, AgentReply> Behaviour { get; set; } = task => Reply.Ok(task, new { step = task.StepId, attempt = task.Attempt });

    public EngineHarness WithAgent(string id, params string[] capabilities)
    {
        Agents.Add(new AgentCandidate(id, $"agent.{id}", capabilities));
        return this;
    }

    public IEnumerable<string> EventTypes => Events.Select(e => e.Type);

    public IEnumerable<string> StepEvents(string type) => Events.Where(e => e.Type == type).Select(e => e.StepId!);

    /// <summary>Every attempt record the transitions wrote, by step, latest version of each.</summary>
    public Dictionary<string, List<AttemptState>> Attempts { get; } = new(StringComparer.Ordinal);

    /// <summary>The genuine result message of the latest dispatch of a step: its correlation id and sender.</summary>
    public StepResultReceived GenuineResult(AgentTaskResult result)
    {
        var dispatch = Dispatched.Last(d => d.Task.StepId == result.StepId && d.Task.Attempt == result.Attempt && d.Task.Kind == result.Kind);
        return new StepResultReceived(result, dispatch.MessageId, dispatch.Task.AgentId);
    }

    /// <summary>Starts the run and runs it until it ends (or nothing more can happen).</summary>
    public RunState RunToEnd(int maxSteps = 10_000)
    {
        Apply(new StartRun());
        for (var i = 0; i < maxSteps && !Run.IsTerminal; i++)
        {
            var nextTimer = Run.Timers.Count == 0 ? (DateTimeOffset?)null : Run.Timers.Min(t => t.DueAt);
            var nextReply = _inFlight.Count == 0 ? (DateTimeOffset?)null : _inFlight.Min(r => r.At);
            if (nextTimer is null && nextReply is null)
            {
                break;
            }

            if (nextReply is { } replyAt && (nextTimer is null || replyAt <= nextTimer))
            {
                AdvanceTo(replyAt);
                var ready = _inFlight.Where(r => r.At <= Clock.GetUtcNow()).ToList();
                _inFlight.RemoveAll(ready.Contains);
                foreach (var (_, result, messageId, sender) in ready)
                {
                    Apply(new StepResultReceived(result, messageId, sender));
                }
            }
            else
            {
                AdvanceTo(nextTimer!.Value);
                Apply(new TimersDue());
            }
        }

        return Run;
    }

    public RunTransition Apply(RunInput input)
    {
        var transition = RunReducer.Apply(Run, input, Clock.GetUtcNow(), Agents, Limits);
        Run = transition.State;
        Events.AddRange(transition.Events);
        Commands.AddRange(transition.Commands);
        foreach (var (stepId, attempt) in transition.Attempts)
        {
            var list = Attempts.TryGetValue(stepId, out var known) ? known : Attempts[stepId] = [];
            list.RemoveAll(a => a.Number == attempt.Number);
            list.Add(attempt);
        }
        foreach (var dispatch in transition.Dispatches)
        {
            Dispatched.Add(dispatch);
            var reply = Behaviour(dispatch.Task);
            if (reply.Result is not null)
            {
                _inFlight.Add((Clock.GetUtcNow() + reply.Delay, reply.Result, dispatch.MessageId, dispatch.Task.AgentId));
            }
        }

        return transition;
    }

    private void AdvanceTo(DateTimeOffset at)
    {
        var delta = at - Clock.GetUtcNow();
        if (delta > TimeSpan.Zero)
        {
            Clock.Advance(delta);
        }
    }
}

public static class Reply
{
    public static AgentReply Ok(AgentTask task, object output, TimeSpan delay = default) =>
        new(Result(task, ok: true, JsonSerializer.SerializeToElement(output), null), delay == default ? TimeSpan.FromMilliseconds(10) : delay);

    public static AgentReply Fail(AgentTask task, string error, bool retryable = true, TimeSpan delay = default) =>
        new(Result(task, ok: false, null, error) with { Retryable = retryable }, delay == default ? TimeSpan.FromMilliseconds(10) : delay);

    private static AgentTaskResult Result(AgentTask task, bool ok, JsonElement? output, string? error) => new()
    {
        RunId = task.RunId,
        StepId = task.StepId,
        Attempt = task.Attempt,
        Kind = task.Kind,
        Ok = ok,
        Output = output,
        Error = error,
        AgentId = task.AgentId,
    };
}

public static class Workflows
{
    public static StepDefinition Step(string id, string agent = "worker", OnFail onFail = OnFail.Retry, int maxAttempts = 3,
        long timeoutMs = 1_000, BackoffPolicy? backoff = null, string? compensateWith = null, object? input = null) => new()
    {
        Id = id,
        Agent = agent,
        OnFail = onFail,
        MaxAttempts = maxAttempts,
        TimeoutMs = timeoutMs,
        Backoff = backoff ?? new BackoffPolicy { Type = BackoffType.Constant, BaseMs = 100, MaxMs = 100, Jitter = false },
        Compensate = compensateWith is null ? null : new CompensationDefinition { Agent = compensateWith },
        Input = input is null ? null : JsonSerializer.SerializeToElement(input),
    };

    public static WorkflowDefinition Of(params StepDefinition[] steps) => new() { Id = "wf", TimeoutMs = 60_000, Steps = steps };
}
