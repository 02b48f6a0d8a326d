using System.Text.Json;
using Communication.Bus.Contracts;
using Orchestration.Api.Model;
using Orchestration.Api.Services;

namespace Orchestration.Api.Engine;

/// <summary>
/// The run state machine, as a pure function of (state, input, now, available agents) → new state,
/// events and tasks to send. No I/O, no clock of its own: every replica computes the same
/// transition, and tests drive it with a fake clock. It takes ownership of the state it is given
/// (the engine passes a freshly loaded copy) and changes it in place.
/// </summary>
public sealed class RunReducer
{
    /// <summary>When no agent can take a step, the next attempt waits at least this long.</summary>
    public static readonly TimeSpan NoAgentRetryDelay = TimeSpan.FromSeconds(1);

    /// <summary>Reported usage is clamped so sums over a run can never overflow.</summary>
    private const long MaxReportedTokens = 1_000_000_000_000;
    private readonly RunTransition _transition;
    private readonly RunState _run;
    private readonly DateTimeOffset _now;
    private readonly IReadOnlyList<AgentCandidate> _agents;

    private RunReducer(RunState current, DateTimeOffset now, IReadOnlyList<AgentCandidate> agents)
    {
        _run = current;
        _transition = new RunTransition(_run);
        _now = now;
        _agents = agents;
    }

    public static RunTransition Apply(RunState current, RunInput input, DateTimeOffset now, IReadOnlyList<AgentCandidate> agents)
    {
        var reducer = new RunReducer(current, now, agents);

        // Time first: a result or a cancel that arrives after a deadline must not beat it.
        if (input is not StartRun)
        {
            reducer.OnTimers();
        }

        switch (input)
        {
            case StartRun:
                reducer.Start();
                break;
            case StepResultReceived result:
                reducer.OnResult(result.Result, result.CorrelationId);
                break;
            case CancelRun:
                reducer.OnCancel();
                break;
        }

        return reducer._transition;
    }

    private WorkflowDefinition Workflow => _run.Workflow;

    private bool AcceptsStepWork => _run.Status == RunStatus.Running && _run.Compensation is null;

    private void Start()
    {
        if (_run.Status != RunStatus.Pending)
        {
            return;
        }

        _run.Status = RunStatus.Running;
        _run.StartedAt = _now;
        Emit(RunEventTypes.WorkflowStarted, data: new { workflowId = Workflow.Id, input = _run.Input });
        _run.Timers.Add(new RunTimer(TimerKind.WorkflowTimeout, _now.AddMilliseconds(Workflow.TimeoutMs)));
        DispatchStep(0, attempt: 1);
    }

    private void OnResult(AgentTaskResult result, string? correlationId)
    {
        if (result.Kind == AgentTaskKind.Compensation)
        {
            if (_run.Compensation?.Current == result.StepId && result.Attempt == 1
                && (correlationId is null || correlationId == _run.Compensation.CurrentMessageId))
            {
                FinishCompensation(result.StepId, result.Ok, result.Error);
            }

            return;
        }

        var index = IndexOf(result.StepId);
        if (index < 0 || !AcceptsStepWork)
        {
            return;
        }

        var step = _run.Steps[index];
        if (step.Status != StepStatus.Running || step.Current?.Number != result.Attempt
            || (correlationId is not null && correlationId != step.Current.MessageId))
        {
            return; // a late result of a timed-out attempt, a duplicate delivery, or not ours
        }

        _run.Timers.RemoveAll(t => t.Kind == TimerKind.AttemptTimeout && t.StepId == step.Id && t.Attempt == result.Attempt);
        if (result.Ok)
        {
            Succeed(index, result);
        }
        else
        {
            FailAttempt(index, result.Error ?? "The agent reported a failure without a reason.", result.Retryable);
        }
    }

    private void OnTimers()
    {
        // Handling a timer may add timers that are already due (a zero backoff): loop until none is.
        for (var guard = 0; guard < 1000; guard++)
        {
            var due = _run.Timers.Where(t => t.DueAt <= _now).OrderBy(t => t.DueAt).FirstOrDefault();
            if (due is null)
            {
                return;
            }

            _run.Timers.Remove(due);
            _transition.TimersDropped = true;
            switch (due.Kind)
            {
                case TimerKind.WorkflowTimeout when AcceptsStepWork:
                    Abort(RunStatus.TimedOut, $"The workflow did not finish within {Workflow.TimeoutMs} ms.");
                    break;
                case TimerKind.AttemptTimeout when AcceptsStepWork:
                    var index = IndexOf(due.StepId!);
                    var step = _run.Steps[index];
                    if (step.Status == StepStatus.Running && step.Current?.Number == due.Attempt)
                    {
                        FailAttempt(index, $"Attempt {due.Attempt} timed out after {Workflow.Steps[index].TimeoutMs} ms.", retryable: true);
                    }

                    break;
                case TimerKind.RetryDue when AcceptsStepWork:
                    var retryIndex = IndexOf(due.StepId!);
                    if (_run.Steps[retryIndex].Status == StepStatus.Retrying)
                    {
                        DispatchStep(retryIndex, due.Attempt);
                    }

                    break;
                case TimerKind.CompensationTimeout when _run.Compensation?.Current == due.StepId:
                    FinishCompensation(due.StepId!, ok: false, "The compensation timed out.");
                    break;
            }
        }
    }

    private void OnCancel()
    {
        if (AcceptsStepWork || _run.Status == RunStatus.Pending)
        {
            Abort(RunStatus.Cancelled, "The run was cancelled.");
        }
    }

    private void DispatchStep(int index, int attempt)
    {
        var definition = Workflow.Steps[index];
        var step = _run.Steps[index];
        step.Status = StepStatus.Running;
        step.Attempts = attempt;
        step.StartedAt ??= _now;

        var messageId = DeterministicGuid.Create($"{_run.RunId}/{_run.Nonce}/step/{step.Id}/{attempt}").ToString();
        var agent = ChooseAgent(definition, attempt);
        var record = new AttemptState { Number = attempt, MessageId = messageId, AgentId = agent?.Id, StartedAt = _now };
        step.AttemptHistory.Add(record);

        if (agent is null)
        {
            var wanted = definition.Agent is { Length: > 0 } id ? $"agent '{id}'" : $"an agent with capability '{definition.Capability}'";
            FailAttempt(index, $"No active {wanted} is registered.", retryable: true, minimumDelay: NoAgentRetryDelay);
            return;
        }

        var deadline = _now.AddMilliseconds(definition.TimeoutMs);
        _run.Timers.Add(new RunTimer(TimerKind.AttemptTimeout, deadline, step.Id, attempt));
        Emit(RunEventTypes.StepStarted, step.Id, attempt, new { agentId = agent.Id, topic = agent.Topic });
        _transition.Dispatches.Add(new TaskDispatch(messageId, agent.Topic, new AgentTask
        {
            RunId = _run.RunId,
            WorkflowId = Workflow.Id,
            StepId = step.Id,
            Attempt = attempt,
            Kind = AgentTaskKind.Step,
            AgentId = agent.Id,
            Capability = definition.Capability,
            Input = RenderInput(definition.Input, DefaultInput(index)),
            DeadlineUnixMs = deadline.ToUnixTimeMilliseconds(),
        }));
    }

    private void Succeed(int index, AgentTaskResult result)
    {
        var step = _run.Steps[index];
        step.Status = StepStatus.Succeeded;
        step.Output = result.Output;
        step.Metadata = Sanitize(result.Metadata);
        step.Error = null;
        step.EndedAt = _now;
        step.Current!.EndedAt = _now;
        Emit(RunEventTypes.StepCompleted, step.Id, result.Attempt, new { agentId = result.AgentId, output = result.Output, metadata = result.Metadata });
        Advance(index);
    }

    private void FailAttempt(int index, string error, bool retryable, TimeSpan minimumDelay = default)
    {
        var definition = Workflow.Steps[index];
        var step = _run.Steps[index];
        var attempt = step.Current!;
        attempt.Error = error;
        attempt.EndedAt = _now;
        step.Error = error;

        switch (definition.OnFail)
        {
            case OnFail.Retry when retryable && attempt.Number < definition.MaxAttempts:
                var backoff = Backoff.Delay(definition.Backoff, attempt.Number, _run.RunId, step.Id);
                var delay = backoff < minimumDelay ? minimumDelay : backoff;
                step.Status = StepStatus.Retrying;
                _run.Timers.Add(new RunTimer(TimerKind.RetryDue, _now + delay, step.Id, attempt.Number + 1));
                Emit(RunEventTypes.StepRetrying, step.Id, attempt.Number,
                    new { error, nextAttempt = attempt.Number + 1, delayMs = (long)delay.TotalMilliseconds });
                break;
            case OnFail.Skip:
                step.Status = StepStatus.Skipped;
                step.EndedAt = _now;
                Emit(RunEventTypes.StepSkipped, step.Id, attempt.Number, new { error });
                Advance(index);
                break;
            default:
                step.Status = StepStatus.Failed;
                step.EndedAt = _now;
                Emit(RunEventTypes.StepFailed, step.Id, attempt.Number, new { error, attempts = attempt.Number, retryable });
                _run.FailedStep = step.Id;
                Abort(RunStatus.Failed, $"Step '{step.Id}' failed: {error}");
                break;
        }
    }

    private void Advance(int index)
    {
        if (index + 1 < Workflow.Steps.Count)
        {
            DispatchStep(index + 1, attempt: 1);
            return;
        }

        _run.Output = _run.Steps.LastOrDefault(s => s.Status == StepStatus.Succeeded)?.Output;
        Finish(RunStatus.Succeeded);
    }

    /// <summary>Stops step work (in-flight attempts are ignored from now on) and compensates.</summary>
    private void Abort(RunStatus outcome, string error)
    {
        _run.Error = error;
        foreach (var step in _run.Steps.Where(s => s.Status is StepStatus.Running or StepStatus.Retrying))
        {
            step.Status = StepStatus.Cancelled;
            step.EndedAt = _now;
            if (step.Current is { EndedAt: null } attempt)
            {
                attempt.EndedAt = _now;
                attempt.Error ??= error;
            }
        }

        _run.Timers.Clear();

        // Saga: undo the completed steps, the most recent first.
        var pending = Enumerable.Range(0, _run.Steps.Count).Reverse()
            .Where(i => _run.Steps[i].Status == StepStatus.Succeeded && Workflow.Steps[i].Compensate is not null)
            .Select(i => _run.Steps[i].Id)
            .ToList();
        if (pending.Count == 0)
        {
            Finish(outcome);
            return;
        }

        _run.Compensation = new CompensationState { Outcome = outcome, Pending = pending };
        NextCompensation();
    }

    private void NextCompensation()
    {
        var compensation = _run.Compensation!;
        if (compensation.Pending.Count == 0)
        {
            Finish(compensation.Outcome);
            return;
        }

        var stepId = compensation.Pending[0];
        compensation.Pending.RemoveAt(0);
        compensation.Current = stepId;

        var index = IndexOf(stepId);
        var definition = Workflow.Steps[index];
        var agent = _agents.FirstOrDefault(a => a.Id == definition.Compensate!.Agent);
        if (agent is null)
        {
            FinishCompensation(stepId, ok: false, $"No active agent '{definition.Compensate!.Agent}' is registered.");
            return;
        }

        var messageId = DeterministicGuid.Create($"{_run.RunId}/{_run.Nonce}/compensation/{stepId}/1").ToString();
        compensation.CurrentMessageId = messageId;
        var deadline = _now.AddMilliseconds(definition.TimeoutMs);
        _run.Timers.Add(new RunTimer(TimerKind.CompensationTimeout, deadline, stepId, 1));
        Emit(RunEventTypes.CompensationStarted, stepId, 1, new { agentId = agent.Id });
        _transition.Dispatches.Add(new TaskDispatch(messageId, agent.Topic, new AgentTask
        {
            RunId = _run.RunId,
            WorkflowId = Workflow.Id,
            StepId = stepId,
            Attempt = 1,
            Kind = AgentTaskKind.Compensation,
            AgentId = agent.Id,
            Input = RenderInput(definition.Compensate!.Input, _run.Steps[index].Output ?? _run.Input),
            DeadlineUnixMs = deadline.ToUnixTimeMilliseconds(),
        }));
    }

    private void FinishCompensation(string stepId, bool ok, string? error)
    {
        _run.Timers.RemoveAll(t => t.Kind == TimerKind.CompensationTimeout && t.StepId == stepId);
        _run.Compensation!.Current = null;
        _run.Compensation.CurrentMessageId = null;
        if (ok)
        {
            _run.Compensated.Add(stepId);
            Emit(RunEventTypes.CompensationCompleted, stepId, 1);
        }
        else
        {
            _run.CompensationFailed.Add(stepId);
            Emit(RunEventTypes.CompensationFailed, stepId, 1, new { error });
        }

        NextCompensation();
    }

    private void Finish(RunStatus outcome)
    {
        _run.Status = outcome;
        _run.EndedAt = _now;
        _run.Compensation = null;
        _run.Timers.Clear();
        var type = outcome switch
        {
            RunStatus.Succeeded => RunEventTypes.WorkflowCompleted,
            RunStatus.Cancelled => RunEventTypes.WorkflowCancelled,
            RunStatus.TimedOut => RunEventTypes.WorkflowTimedOut,
            _ => RunEventTypes.WorkflowFailed,
        };
        Emit(type, data: outcome == RunStatus.Succeeded
            ? new { output = _run.Output }
            : new { failedStep = _run.FailedStep, error = _run.Error, compensated = _run.Compensated, compensationFailed = _run.CompensationFailed });
    }

    private static AgentWorkMetadata? Sanitize(AgentWorkMetadata? metadata) => metadata is null ? null : metadata with
    {
        InputTokens = Math.Clamp(metadata.InputTokens, 0, MaxReportedTokens),
        OutputTokens = Math.Clamp(metadata.OutputTokens, 0, MaxReportedTokens),
        TotalTokens = Math.Clamp(metadata.TotalTokens, 0, MaxReportedTokens),
        CostUsd = Math.Clamp(metadata.CostUsd, 0m, 1_000_000_000m),
        LatencyMs = Math.Max(0, metadata.LatencyMs),
    };

    private AgentCandidate? ChooseAgent(StepDefinition definition, int attempt)
    {
        if (!string.IsNullOrEmpty(definition.Agent))
        {
            return _agents.FirstOrDefault(a => a.Id == definition.Agent);
        }

        var candidates = _agents
            .Where(a => a.Capabilities.Contains(definition.Capability!, StringComparer.Ordinal))
            .OrderBy(a => a.Id, StringComparer.Ordinal)
            .ToList();
        if (candidates.Count == 0)
        {
            return null;
        }

        // Spread runs over the capable agents, and move a retry to the next one.
        var start = (int)(DeterministicGuid.Create($"{_run.RunId}/{definition.Id}").ToByteArray()[0] % candidates.Count);
        return candidates[(start + attempt - 1) % candidates.Count];
    }

    private JsonElement DefaultInput(int index)
    {
        for (var i = index - 1; i >= 0; i--)
        {
            if (_run.Steps[i].Status == StepStatus.Succeeded)
            {
                return _run.Steps[i].Output ?? default;
            }
        }

        return _run.Input;
    }

    private JsonElement RenderInput(JsonElement? template, JsonElement fallback)
    {
        if (template is not { } value)
        {
            return fallback.ValueKind == JsonValueKind.Undefined ? JsonSerializer.SerializeToElement<object?>(null) : fallback;
        }

        var outputs = _run.Steps.ToDictionary(s => s.Id, s => s.Status == StepStatus.Succeeded ? s.Output : null);
        return JsonSerializer.SerializeToElement(StepTemplates.Render(value, _run.Input, outputs), RunJson.Options);
    }

    private int IndexOf(string stepId) => _run.Steps.FindIndex(s => s.Id == stepId);

    private void Emit(string type, string? stepId = null, int? attempt = null, object? data = null) =>
        _transition.Events.Add(new RunEvent(type, _run.RunId, _now, stepId, attempt,
            data is null ? null : JsonSerializer.SerializeToElement(data, RunJson.Options)));
}
