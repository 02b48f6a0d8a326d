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
/// Steps form a graph (see <see cref="WorkflowGraph"/>): after every input the reducer starts each
/// pending step whose dependencies are done, up to the workflow's <c>maxParallelism</c>.
/// </summary>
public sealed partial class RunReducer
{
    /// <summary>When no agent can take a step, the next attempt waits at least this long.</summary>
    public static readonly TimeSpan NoAgentRetryDelay = TimeSpan.FromSeconds(1);

    /// <summary>Reported usage is clamped so sums over a run can never overflow.</summary>
    private const long MaxReportedTokens = 1_000_000_000_000;
    private readonly RunTransition _transition;
    private readonly RunState _run;
    private readonly DateTimeOffset _now;
    private readonly IReadOnlyList<AgentCandidate> _agents;
    private readonly RunLimits _limits;
    private readonly WorkflowGraph _graph;

    private RunReducer(RunState current, DateTimeOffset now, IReadOnlyList<AgentCandidate> agents, RunLimits limits)
    {
        _run = current;
        _transition = new RunTransition(_run);
        _now = now;
        _agents = agents;
        _limits = limits;
        _graph = WorkflowGraph.Of(current.Workflow);
    }

    public static RunTransition Apply(RunState current, RunInput input, DateTimeOffset now, IReadOnlyList<AgentCandidate> agents, RunLimits? limits = null) =>
        Apply(current, [input], now, agents, limits);

    /// <summary>
    /// Applies several inputs in order as one transition (the engine batches the results that arrive for a
    /// run at once, so a fan-in of ten answers is one commit instead of ten competing ones).
    /// </summary>
    public static RunTransition Apply(RunState current, IReadOnlyList<RunInput> inputs, DateTimeOffset now, IReadOnlyList<AgentCandidate> agents, RunLimits? limits = null)
    {
        var reducer = new RunReducer(current, now, agents, limits ?? RunLimits.Default);
        foreach (var input in inputs)
        {
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
                    reducer.OnResult(result.Result, result.CorrelationId, result.From);
                    break;
                case SignalReceived signal:
                    reducer.OnSignal(signal.Name, signal.Signal);
                    break;
                case ChildRunEnded child:
                    reducer.OnChildEnded(child);
                    break;
                case ChildRunCompensated compensated:
                    reducer.OnChildCompensated(compensated);
                    break;
                case CompensateRun:
                    reducer.OnCompensateForParent();
                    break;
                case CancelRun:
                    reducer.OnCancel();
                    break;
            }

            reducer.Schedule();
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
        Emit(RunEventTypes.WorkflowStarted, data: new { workflowId = Workflow.Id, version = _run.WorkflowVersion, input = _run.Input });
        _run.Timers.Add(new RunTimer(TimerKind.WorkflowTimeout, _now.AddMilliseconds(Workflow.TimeoutMs)));
    }

    private void OnResult(AgentTaskResult result, string? correlationId, string? from)
    {
        if (result.Kind == AgentTaskKind.Compensation)
        {
            var compensation = _run.Compensation;
            if (compensation?.Current == result.StepId && result.Attempt == 1
                && correlationId == compensation.CurrentMessageId
                && (compensation.CurrentSender is null || from == compensation.CurrentSender))
            {
                FinishCompensation(result.StepId, result.Ok, result.Error);
            }

            return;
        }

        if (Parse(result.StepId) is not { } unit || !AcceptsStepWork)
        {
            return;
        }

        // The attempt's own state decides whether a result counts: only the attempt in flight, only
        // with its task's message id, only from the sender it was sent to. A late result, a duplicate
        // delivery, a replayed task's answer or another agent's message changes nothing.
        var work = State(unit);
        if (work.Status != StepStatus.Running || work.Current is not { } attempt || attempt.Number != result.Attempt
            || correlationId != attempt.MessageId || (attempt.Sender is not null && from != attempt.Sender))
        {
            return;
        }

        var unitId = UnitId(unit);
        _run.Timers.RemoveAll(t => t.Kind == TimerKind.AttemptTimeout && t.StepId == unitId && t.Attempt == result.Attempt);
        if (!result.Ok)
        {
            FailAttempt(unit, result.Error ?? "The agent reported a failure without a reason.", result.Retryable);
            return;
        }

        var size = result.Output is { } output ? output.GetRawText().Length : 0;
        if (_run.StoredBytes + Copies * size > _limits.MaxRunBytes)
        {
            FailAttempt(unit, $"The output ({size} bytes) would take the run's stored data over its limit of {_limits.MaxRunBytes} bytes (Orchestration:MaxRunBytes).", retryable: false);
            return;
        }

        _run.StoredBytes += Copies * size;
        if (unit.IsItem)
        {
            SucceedItem(unit, result.Output, result.Attempt, new { agentId = result.AgentId, output = result.Output, metadata = result.Metadata });
            return;
        }

        Succeed(unit.Step, result.Output, Sanitize(result.Metadata), result.Attempt,
            new { agentId = result.AgentId, output = result.Output, metadata = result.Metadata });
    }

    /// <summary>A child run of a <c>workflow</c> step ended: its output is the step's, its failure the attempt's.</summary>
    private void OnChildEnded(ChildRunEnded child)
    {
        if (Parse(child.StepId) is not { } unit || !AcceptsStepWork)
        {
            return;
        }

        var work = State(unit);
        if (work.Status != StepStatus.Running || work.Current is not { } attempt || attempt.Number != child.Attempt || attempt.ChildRunId != child.ChildRunId)
        {
            return;
        }

        var unitId = UnitId(unit);
        _run.Timers.RemoveAll(t => t.Kind == TimerKind.AttemptTimeout && t.StepId == unitId && t.Attempt == child.Attempt);
        var workflowId = Workflow.Steps[unit.Step].Workflow;
        if (child.Status != RunStatus.Succeeded)
        {
            var status = JsonSerializer.Serialize(child.Status, RunJson.Options).Trim('"');
            FailAttempt(unit, $"Child run {child.ChildRunId} of workflow '{workflowId}' ended {status}: {child.Error ?? "no reason given."}", child.Retryable);
            return;
        }

        var size = child.Output is { } output ? output.GetRawText().Length : 0;
        if (_run.StoredBytes + Copies * size > _limits.MaxRunBytes)
        {
            FailAttempt(unit, $"The child run's output ({size} bytes) would take the run's stored data over its limit of {_limits.MaxRunBytes} bytes (Orchestration:MaxRunBytes).", retryable: false);
            return;
        }

        _run.StoredBytes += Copies * size;
        var data = new { childRunId = child.ChildRunId, workflowId, output = child.Output };
        if (unit.IsItem)
        {
            SucceedItem(unit, child.Output, child.Attempt, data);
            return;
        }

        Succeed(unit.Step, child.Output, metadata: null, child.Attempt, data);
    }

    private void OnChildCompensated(ChildRunCompensated child)
    {
        var compensation = _run.Compensation;
        if (compensation?.Current == child.StepId && compensation.CurrentMessageId == child.ChildRunId)
        {
            FinishCompensation(child.StepId, child.Ok, child.Error);
        }
    }

    /// <summary>
    /// The parent compensates the step that ran this (succeeded) child: undo its completed steps, the most recent
    /// first, as a failed run would; the run stays SUCCEEDED (<c>undone</c>) and tells the parent when done.
    /// Asked again (a resent command), it only tells the parent again.
    /// </summary>
    private void OnCompensateForParent()
    {
        if (_run.Status != RunStatus.Succeeded || _run.Parent is not { } parent || _run.Compensation is not null)
        {
            return;
        }

        if (_run.Undone)
        {
            _transition.Commands.Add(new RunCommand(RunCommandKind.NotifyParentCompensated, parent.RunId) { Parent = parent });
            _transition.TimersDropped = true; // stored again, so the notice is in the outbox
            return;
        }

        var pending = CompensablePending();
        _run.Compensation = new CompensationState { Outcome = RunStatus.Succeeded, Pending = pending, ForParent = true };
        NextCompensation();
    }

    private void OnSignal(string name, RunSignal signal)
    {
        if (!AcceptsStepWork)
        {
            return;
        }

        var index = _run.Steps.FindIndex(s => s.Status == StepStatus.Waiting && s.WaitingFor == name);
        Emit(RunEventTypes.SignalReceived, index < 0 ? null : _run.Steps[index].Id, data: new { signal = name, signal.Approved, signal.By, signal.Comment });
        if (index < 0)
        {
            // Kept until a step waits for it: a signal may arrive before its step is reached.
            _run.Signals[name] = signal;
            return;
        }

        Resolve(index, signal);
    }

    private void Resolve(int index, RunSignal signal)
    {
        var step = _run.Steps[index];
        _run.Timers.RemoveAll(t => t.Kind == TimerKind.SignalTimeout && t.StepId == step.Id);
        step.WaitingFor = null;
        if (!signal.Approved)
        {
            var by = signal.By is { Length: > 0 } who ? $" by {who}" : "";
            var comment = signal.Comment is { Length: > 0 } text ? $": {text}" : ".";
            FailAttempt(new Unit(index), $"Not approved{by}{comment}", retryable: false);
            return;
        }

        var output = JsonSerializer.SerializeToElement(new { approved = true, by = signal.By, comment = signal.Comment, data = signal.Data }, RunJson.Options);
        _run.StoredBytes += Copies * output.GetRawText().Length;
        Succeed(index, output, metadata: null, attempt: 1, new { output });
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
                case TimerKind.AttemptTimeout when AcceptsStepWork && Parse(due.StepId!) is { } timedOut:
                    var work = State(timedOut);
                    if (work.Status == StepStatus.Running && work.Current?.Number == due.Attempt)
                    {
                        CancelChild(work.Current);
                        FailAttempt(timedOut, $"Attempt {due.Attempt} timed out after {Workflow.Steps[timedOut.Step].TimeoutMs} ms.", retryable: true);
                    }

                    break;
                case TimerKind.SignalTimeout when AcceptsStepWork:
                    var waiting = IndexOf(due.StepId!);
                    if (_run.Steps[waiting].Status == StepStatus.Waiting)
                    {
                        var signal = _run.Steps[waiting].WaitingFor;
                        _run.Steps[waiting].WaitingFor = null;
                        FailAttempt(new Unit(waiting), $"No signal '{signal}' arrived within {Workflow.Steps[waiting].TimeoutMs} ms.", retryable: false);
                    }

                    break;
                case TimerKind.RetryDue when AcceptsStepWork && Parse(due.StepId!) is { } retry:
                    if (State(retry).Status == StepStatus.Retrying)
                    {
                        Dispatch(retry, due.Attempt);
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

    /// <summary>Starts (or skips) every pending step whose dependencies are done; ends the run when all steps are.</summary>
    private void Schedule()
    {
        var progressed = true;
        while (progressed && AcceptsStepWork)
        {
            progressed = false;
            var active = _run.Steps.Count(s => s.Status is StepStatus.Running or StepStatus.Retrying);
            for (var i = 0; i < _run.Steps.Count && AcceptsStepWork; i++)
            {
                if (_run.Steps[i].Status != StepStatus.Pending || !DependenciesDone(i))
                {
                    continue;
                }

                var definition = Workflow.Steps[i];
                var deps = _graph.Dependencies[i];
                if (deps.Length > 0 && deps.All(d => _run.Steps[d] is { Status: StepStatus.Skipped, SkipReason: "condition" or "dependencies" }))
                {
                    // Everything it builds on was left out on purpose: leave it out too.
                    Skip(i, "dependencies");
                    progressed = true;
                    continue;
                }

                if (_graph.Conditions[i] is { } condition && !condition.Evaluate(_run.Input, Outputs()))
                {
                    Skip(i, "condition", new { when = definition.When });
                    progressed = true;
                    continue;
                }

                if (definition.Type == StepType.Approval)
                {
                    Wait(i);
                    progressed = true;
                    continue;
                }

                if (Workflow.MaxParallelism > 0 && active >= Workflow.MaxParallelism)
                {
                    continue;
                }

                if (definition.ForEach is not null)
                {
                    StartForEach(i);
                }
                else if (definition.Type == StepType.Debate)
                {
                    StartDebate(i);
                }
                else
                {
                    Dispatch(new Unit(i), attempt: 1);
                }

                active++;
                progressed = true;
            }
        }

        if (AcceptsStepWork && _run.Steps.All(s => s.Status is StepStatus.Succeeded or StepStatus.Skipped))
        {
            var last = _run.Steps.LastOrDefault(s => s.Status == StepStatus.Succeeded);
            _run.Output = last?.Output;
            // The run's output and the workflow_completed event are two more copies of the last output.
            _run.StoredBytes += Copies * (_run.Output?.GetRawText().Length ?? 0);
            _transition.RunOutput = _run.Output is not null;
            Finish(RunStatus.Succeeded);
        }
    }

    private bool DependenciesDone(int index) =>
        _graph.Dependencies[index].All(d => d >= 0 && _run.Steps[d].Status is StepStatus.Succeeded or StepStatus.Skipped);

    private void Skip(int index, string reason, object? detail = null)
    {
        var step = _run.Steps[index];
        step.Status = StepStatus.Skipped;
        step.SkipReason = reason;
        step.StartedAt ??= _now;
        step.EndedAt = _now;
        Emit(RunEventTypes.StepSkipped, step.Id, data: new { reason, detail });
    }

    private void Wait(int index)
    {
        var definition = Workflow.Steps[index];
        var step = _run.Steps[index];
        var signal = definition.Signal ?? definition.Id;
        step.Status = StepStatus.Waiting;
        step.WaitingFor = signal;
        step.Attempts = 1;
        step.StartedAt ??= _now;
        step.Current = new AttemptState
        {
            Number = 1,
            MessageId = DeterministicGuid.Create($"{_run.RunId}/{_run.Nonce}/signal/{step.Id}").ToString(),
            StartedAt = _now,
        };
        Touch(new Unit(index));
        Emit(RunEventTypes.Waiting, step.Id, 1, new { signal, timeoutMs = definition.TimeoutMs });
        if (_run.Signals.Remove(signal, out var early))
        {
            Resolve(index, early);
            return;
        }

        _run.Timers.Add(new RunTimer(TimerKind.SignalTimeout, _now.AddMilliseconds(definition.TimeoutMs), step.Id, 1));
    }

    private void StartForEach(int index)
    {
        var definition = Workflow.Steps[index];
        var step = _run.Steps[index];
        var reference = StepTemplates.References(JsonSerializer.SerializeToElement(definition.ForEach!.Items)).First();
        var items = StepTemplates.Resolve(reference, _run.Input, Outputs());
        string? error = items is not { ValueKind: JsonValueKind.Array } array
            ? $"forEach items {definition.ForEach.Items} is not an array."
            : array.GetArrayLength() > _limits.MaxForEachItems
                ? $"forEach items {definition.ForEach.Items} has {array.GetArrayLength()} elements, over the limit of {_limits.MaxForEachItems} (Orchestration:MaxForEachItems)."
                : null;
        step.StartedAt ??= _now;
        if (error is not null)
        {
            FailWholeStep(index, error);
            return;
        }

        var count = items!.Value.GetArrayLength();
        step.Status = StepStatus.Running;
        step.Items = Enumerable.Range(0, count).Select(k => new ItemState { Index = k }).ToList();
        Emit(RunEventTypes.StepStarted, step.Id, data: new { items = count, maxConcurrency = definition.ForEach.MaxConcurrency });
        AdvanceItems(index);
    }

    /// <summary>A step that fails as a whole, outside any attempt: follows its onFail (SKIP, or the run fails).</summary>
    private void FailWholeStep(int index, string error)
    {
        var step = _run.Steps[index];
        error = BoundError(error);
        _run.StoredBytes += 2L * error.Length;
        step.Error = error;
        step.EndedAt = _now;
        if (Workflow.Steps[index].OnFail == OnFail.Skip)
        {
            step.Status = StepStatus.Skipped;
            step.SkipReason = "failed";
            Emit(RunEventTypes.StepSkipped, step.Id, data: new { reason = "failed", error });
            return;
        }

        step.Status = StepStatus.Failed;
        Emit(RunEventTypes.StepFailed, step.Id, data: new { error, retryable = false });
        _run.FailedStep = step.Id;
        Abort(RunStatus.Failed, $"Step '{step.Id}' failed: {error}");
    }

    /// <summary>After one of a step's items ended: the forEach or debate moves on.</summary>
    private void AdvanceUnits(int index)
    {
        if (Workflow.Steps[index].Type == StepType.Debate)
        {
            AdvanceDebate(index);
        }
        else
        {
            AdvanceItems(index);
        }
    }

    /// <summary>Starts pending items up to the step's maxConcurrency; completes the step when every item is done.</summary>
    private void AdvanceItems(int index)
    {
        var step = _run.Steps[index];
        var items = step.Items!;
        if (items.All(item => item.Status is StepStatus.Succeeded or StepStatus.Skipped))
        {
            var output = JsonSerializer.SerializeToElement(items.Select(item => item.Status == StepStatus.Succeeded ? item.Output : null), RunJson.Options);
            _run.StoredBytes += output.GetRawText().Length;
            Succeed(index, output, metadata: null, attempt: null, new { items = items.Count, skipped = items.Count(item => item.Status == StepStatus.Skipped) });
            return;
        }

        var max = Workflow.Steps[index].ForEach!.MaxConcurrency;
        var active = items.Count(item => item.Status is StepStatus.Running or StepStatus.Retrying);
        foreach (var item in items)
        {
            if (!AcceptsStepWork || step.Status != StepStatus.Running || (max > 0 && active >= max))
            {
                return;
            }

            if (item.Status == StepStatus.Pending)
            {
                Dispatch(new Unit(index, item.Index), attempt: 1);
                active++;
            }
        }
    }

    private void Dispatch(Unit unit, int attempt)
    {
        var definition = Workflow.Steps[unit.Step];
        var step = _run.Steps[unit.Step];
        var work = State(unit);
        var unitId = UnitId(unit);
        work.Status = StepStatus.Running;
        work.Attempts = attempt;
        step.StartedAt ??= _now;

        if (definition.Type == StepType.Workflow)
        {
            StartChild(unit, attempt);
            return;
        }

        var messageId = DeterministicGuid.Create($"{_run.RunId}/{_run.Nonce}/step/{unitId}/{attempt}").ToString();
        var seat = SeatOf(unit);
        var (agentId, capability) = seat is null ? (definition.Agent, definition.Capability) : (seat.Agent, seat.Capability);
        var agent = ChooseAgent(agentId, capability, unitId, attempt);
        work.Current = new AttemptState { Number = attempt, MessageId = messageId, AgentId = agent?.Id, Sender = agent?.Sender ?? agent?.Id, StartedAt = _now };
        Touch(unit);

        if (agent is null)
        {
            _transition.NoAgent = true;
            var wanted = agentId is { Length: > 0 } id ? $"agent '{id}'" : $"an agent with capability '{capability}'";
            FailAttempt(unit, $"No active {wanted} is registered.", retryable: true, minimumDelay: NoAgentRetryDelay);
            return;
        }

        JsonElement input;
        string renderError;
        if (seat is not null)
        {
            if (!TryDebateInput(unit, out input, out renderError))
            {
                FailAttempt(unit, renderError, retryable: false);
                return;
            }
        }
        else
        {
            var outputs = Outputs();
            if (unit.IsItem)
            {
                outputs[StepTemplates.ItemKey] = ItemsOf(unit.Step)[unit.Item];
                outputs[StepTemplates.ItemIndexKey] = JsonSerializer.SerializeToElement(unit.Item);
            }

            var fallback = unit.IsItem ? ItemsOf(unit.Step)[unit.Item] : DefaultInput(unit.Step);
            if (!TryRender(definition.Input, fallback, outputs, out input, out renderError))
            {
                FailAttempt(unit, renderError, retryable: false);
                return;
            }
        }

        var deadline = _now.AddMilliseconds(definition.TimeoutMs);
        _run.Timers.Add(new RunTimer(TimerKind.AttemptTimeout, deadline, unitId, attempt));
        Emit(RunEventTypes.StepStarted, unitId, attempt, new { agentId = agent.Id, topic = agent.Topic });
        _transition.Dispatches.Add(new TaskDispatch(messageId, agent.Topic, new AgentTask
        {
            RunId = _run.RunId,
            WorkflowId = Workflow.Id,
            StepId = unitId,
            Attempt = attempt,
            Kind = AgentTaskKind.Step,
            AgentId = agent.Id,
            Capability = capability,
            Input = input,
            DeadlineUnixMs = deadline.ToUnixTimeMilliseconds(),
            OutputSchema = seat is not null && _run.Steps[unit.Step].Items![unit.Item].Role == DebateRoles.Judge ? JudgeSchema(definition.Debate!) : null,
        }));
    }

    /// <summary>
    /// A <c>workflow</c> step's attempt: asks for the child run (a command carried out after the commit) and
    /// waits for its end. The child's id derives from this run, the step and the attempt, so a resent or
    /// repeated start finds the same child instead of starting a second one.
    /// </summary>
    private void StartChild(Unit unit, int attempt)
    {
        var definition = Workflow.Steps[unit.Step];
        var work = State(unit);
        var unitId = UnitId(unit);
        var childRunId = DeterministicGuid.Create($"{_run.RunId}/{_run.Nonce}/child/{unitId}/{attempt}").ToString("N");
        work.Current = new AttemptState { Number = attempt, MessageId = childRunId, ChildRunId = childRunId, StartedAt = _now };
        Touch(unit);

        if (_run.Depth + 1 > _limits.MaxWorkflowDepth)
        {
            FailAttempt(unit, $"Starting workflow '{definition.Workflow}' would nest child runs {_run.Depth + 1} deep, over the limit of {_limits.MaxWorkflowDepth} (Orchestration:MaxWorkflowDepth).", retryable: false);
            return;
        }

        var outputs = Outputs();
        if (unit.IsItem)
        {
            outputs[StepTemplates.ItemKey] = ItemsOf(unit.Step)[unit.Item];
            outputs[StepTemplates.ItemIndexKey] = JsonSerializer.SerializeToElement(unit.Item);
        }

        var fallback = unit.IsItem ? ItemsOf(unit.Step)[unit.Item] : DefaultInput(unit.Step);
        if (!TryRender(definition.Input, fallback, outputs, out var input, out var renderError))
        {
            FailAttempt(unit, renderError, retryable: false);
            return;
        }

        if (input.ValueKind != JsonValueKind.Object)
        {
            FailAttempt(unit, $"The input of a child run must be a JSON object; it rendered as {input.ValueKind.ToString().ToLowerInvariant()}.", retryable: false);
            return;
        }

        _run.Timers.Add(new RunTimer(TimerKind.AttemptTimeout, _now.AddMilliseconds(definition.TimeoutMs), unitId, attempt));
        Emit(RunEventTypes.StepStarted, unitId, attempt, new { childRunId, workflowId = definition.Workflow, version = definition.WorkflowVersion });
        _transition.Commands.Add(new RunCommand(RunCommandKind.StartChild, childRunId)
        {
            WorkflowId = definition.Workflow,
            WorkflowVersion = definition.WorkflowVersion,
            Input = input,
            Parent = new ParentRun(_run.RunId, unitId, attempt),
            Depth = _run.Depth + 1,
        });
    }

    /// <summary>Cancels the child run of an attempt that stops waiting for it (timeout, or the run ending).</summary>
    private void CancelChild(AttemptState? attempt)
    {
        if (attempt is { ChildRunId: { } childRunId, EndedAt: null })
        {
            _transition.Commands.Add(new RunCommand(RunCommandKind.CancelChild, childRunId));
        }
    }

    private void SucceedItem(Unit unit, JsonElement? output, int attempt, object eventData)
    {
        var item = (ItemState)State(unit);
        item.Status = StepStatus.Succeeded;
        item.Output = output;
        item.Error = null;
        item.EndedAt = _now;
        item.Completion = ++_run.Completions;
        item.Current!.EndedAt = _now;
        Touch(unit);
        _transition.Outputs.Add(UnitId(unit));
        Emit(RunEventTypes.StepCompleted, UnitId(unit), attempt, eventData);
        AdvanceUnits(unit.Step);
    }

    private void Succeed(int index, JsonElement? output, AgentWorkMetadata? metadata, int? attempt, object eventData)
    {
        var step = _run.Steps[index];
        step.Status = StepStatus.Succeeded;
        step.Output = output;
        step.Metadata = metadata;
        step.Error = null;
        step.EndedAt = _now;
        step.Completion = ++_run.Completions;
        if (step.Current is { } current)
        {
            current.EndedAt = _now;
            Touch(new Unit(index));
        }

        _transition.Outputs.Add(step.Id);
        Emit(RunEventTypes.StepCompleted, step.Id, attempt, eventData);
    }

    private void FailAttempt(Unit unit, string error, bool retryable, TimeSpan minimumDelay = default)
    {
        // An error is kept on the attempt, on the step (or item) and in its event.
        error = BoundError(error);
        _run.StoredBytes += 3L * error.Length;
        var definition = Workflow.Steps[unit.Step];
        var step = _run.Steps[unit.Step];
        var work = State(unit);
        var unitId = UnitId(unit);
        var attempt = work.Current!;
        attempt.Error = error;
        attempt.EndedAt = _now;
        Touch(unit);
        work.Error = error;

        switch (definition.OnFail)
        {
            case OnFail.Retry when retryable && attempt.Number < definition.MaxAttempts:
                var backoff = Backoff.Delay(definition.Backoff, attempt.Number, _run.RunId, unitId);
                var delay = backoff < minimumDelay ? minimumDelay : backoff;
                work.Status = StepStatus.Retrying;
                _run.Timers.Add(new RunTimer(TimerKind.RetryDue, _now + delay, unitId, attempt.Number + 1));
                Emit(RunEventTypes.StepRetrying, unitId, attempt.Number,
                    new { error, nextAttempt = attempt.Number + 1, delayMs = (long)delay.TotalMilliseconds });
                break;
            case OnFail.Skip:
                work.Status = StepStatus.Skipped;
                work.EndedAt = _now;
                Emit(RunEventTypes.StepSkipped, unitId, attempt.Number, new { reason = "failed", error });
                if (unit.IsItem)
                {
                    AdvanceUnits(unit.Step);
                }
                else
                {
                    step.SkipReason = "failed";
                }

                break;
            default:
                work.Status = StepStatus.Failed;
                work.EndedAt = _now;
                Emit(RunEventTypes.StepFailed, unitId, attempt.Number, new { error, attempts = attempt.Number, retryable });
                if (unit.IsItem)
                {
                    step.Status = StepStatus.Failed;
                    step.EndedAt = _now;
                    step.Error = $"Item {unit.Item} failed: {error}";
                }

                _run.FailedStep = step.Id;
                Abort(RunStatus.Failed, $"Step '{unitId}' failed: {error}");
                break;
        }
    }

    /// <summary>Stops step work (in-flight attempts are ignored from now on) and compensates.</summary>
    private void Abort(RunStatus outcome, string error)
    {
        // The run's error and the event that ends the run.
        error = BoundError(error);
        _run.StoredBytes += Copies * error.Length;
        _run.Error = error;
        for (var i = 0; i < _run.Steps.Count; i++)
        {
            var step = _run.Steps[i];
            foreach (var item in step.Items?.Where(item => item.Status is StepStatus.Running or StepStatus.Retrying) ?? [])
            {
                if (item.Status == StepStatus.Running)
                {
                    CancelChild(item.Current);
                }

                item.Status = StepStatus.Cancelled;
                item.EndedAt = _now;
                if (item.Current is { EndedAt: null } itemAttempt)
                {
                    itemAttempt.EndedAt = _now;
                    itemAttempt.Error ??= error;
                    Touch(new Unit(i, item.Index));
                }
            }

            if (step.Status is not (StepStatus.Running or StepStatus.Retrying or StepStatus.Waiting))
            {
                continue;
            }

            if (step.Status == StepStatus.Running)
            {
                CancelChild(step.Current);
            }

            step.Status = StepStatus.Cancelled;
            step.EndedAt = _now;
            step.WaitingFor = null;
            if (step.Current is { EndedAt: null } attempt)
            {
                attempt.EndedAt = _now;
                attempt.Error ??= error;
                Touch(new Unit(i));
            }
        }

        _run.Timers.Clear();

        // Saga: undo the completed steps, the most recently completed first (across parallel branches too).
        var pending = CompensablePending();
        if (pending.Count == 0)
        {
            Finish(outcome);
            return;
        }

        _run.Compensation = new CompensationState { Outcome = outcome, Pending = pending };
        NextCompensation();
    }

    /// <summary>
    /// What to undo, the most recently completed first: succeeded steps with a <c>compensate</c>, <c>workflow</c>
    /// steps without one (their child run undoes its own completed steps), and the succeeded items of a forEach
    /// <c>workflow</c> step without one (<c>&lt;step&gt;[&lt;i&gt;]</c>: each item's child run undoes its own steps,
    /// whether the step as a whole finished or not, since a succeeded child did its work either way).
    /// </summary>
    private List<string> CompensablePending()
    {
        var units = new List<(int Completion, string Id)>();
        for (var i = 0; i < _run.Steps.Count; i++)
        {
            var step = _run.Steps[i];
            var definition = Workflow.Steps[i];
            if (definition.Compensate is null && definition.Type == StepType.Workflow && step.Items is { } items)
            {
                units.AddRange(items
                    .Where(item => item.Status == StepStatus.Succeeded && item.Current?.ChildRunId is not null)
                    .Select(item => (item.Completion, RunState.ItemId(step.Id, item.Index))));
            }
            else if (step.Status == StepStatus.Succeeded && (definition.Compensate is not null || step.Current?.ChildRunId is not null))
            {
                units.Add((step.Completion, step.Id));
            }
        }

        return units.OrderByDescending(u => u.Completion).Select(u => u.Id).ToList();
    }

    private void NextCompensation()
    {
        var compensation = _run.Compensation!;
        if (compensation.Pending.Count == 0)
        {
            if (compensation.ForParent)
            {
                _run.Compensation = null;
                _run.Undone = true;
                Emit(RunEventTypes.WorkflowCompensated, data: new { compensated = _run.Compensated, compensationFailed = _run.CompensationFailed });
                _transition.Commands.Add(new RunCommand(RunCommandKind.NotifyParentCompensated, _run.Parent!.RunId) { Parent = _run.Parent });
                return;
            }

            Finish(compensation.Outcome);
            return;
        }

        var stepId = compensation.Pending[0];
        compensation.Pending.RemoveAt(0);
        compensation.Current = stepId;

        // A step, or an item of a forEach workflow step (only those are listed by item).
        var unit = Parse(stepId)!.Value;
        var index = unit.Step;
        var definition = Workflow.Steps[index];
        if (definition.Compensate is null && State(unit).Current?.ChildRunId is { } childRunId)
        {
            // The child run undoes its own completed steps and tells this run when it is done.
            compensation.CurrentMessageId = childRunId;
            compensation.CurrentSender = null;
            _run.Timers.Add(new RunTimer(TimerKind.CompensationTimeout, _now.AddMilliseconds(definition.TimeoutMs), stepId, 1));
            Emit(RunEventTypes.CompensationStarted, stepId, 1, new { childRunId });
            _transition.Commands.Add(new RunCommand(RunCommandKind.CompensateChild, childRunId));
            return;
        }

        var agent = _agents.FirstOrDefault(a => a.Id == definition.Compensate!.Agent);
        if (agent is null)
        {
            _transition.NoAgent = true;
            FinishCompensation(stepId, ok: false, $"No active agent '{definition.Compensate!.Agent}' is registered.");
            return;
        }

        if (!TryRender(definition.Compensate!.Input, _run.Steps[index].Output ?? _run.Input, out var input, out var renderError))
        {
            FinishCompensation(stepId, ok: false, renderError);
            return;
        }

        var messageId = DeterministicGuid.Create($"{_run.RunId}/{_run.Nonce}/compensation/{stepId}/1").ToString();
        compensation.CurrentMessageId = messageId;
        compensation.CurrentSender = agent.Sender ?? agent.Id;
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
            Input = input,
            DeadlineUnixMs = deadline.ToUnixTimeMilliseconds(),
        }));
    }

    private void FinishCompensation(string stepId, bool ok, string? error)
    {
        error = error is null ? null : BoundError(error);
        _run.StoredBytes += error?.Length ?? 0;
        _run.Timers.RemoveAll(t => t.Kind == TimerKind.CompensationTimeout && t.StepId == stepId);
        _run.Compensation!.Current = null;
        _run.Compensation.CurrentMessageId = null;
        _run.Compensation.CurrentSender = null;
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
        if (_run.Parent is { } parent)
        {
            _transition.Commands.Add(new RunCommand(RunCommandKind.NotifyParent, parent.RunId) { Parent = parent });
        }
    }

    private static AgentWorkMetadata? Sanitize(AgentWorkMetadata? metadata) => metadata is null ? null : metadata with
    {
        InputTokens = Math.Clamp(metadata.InputTokens, 0, MaxReportedTokens),
        OutputTokens = Math.Clamp(metadata.OutputTokens, 0, MaxReportedTokens),
        TotalTokens = Math.Clamp(metadata.TotalTokens, 0, MaxReportedTokens),
        CostUsd = Math.Clamp(metadata.CostUsd, 0m, 1_000_000_000m),
        LatencyMs = Math.Max(0, metadata.LatencyMs),
    };

    private AgentCandidate? ChooseAgent(string? agentId, string? capability, string unitId, int attempt)
    {
        if (!string.IsNullOrEmpty(agentId))
        {
            return _agents.FirstOrDefault(a => a.Id == agentId);
        }

        var candidates = _agents
            .Where(a => a.Capabilities.Contains(capability!, StringComparer.Ordinal))
            .OrderBy(a => a.Id, StringComparer.Ordinal)
            .ToList();
        if (candidates.Count == 0)
        {
            return null;
        }

        // Spread runs over the capable agents, and move a retry to the next one.
        var start = (int)(DeterministicGuid.Create($"{_run.RunId}/{unitId}").ToByteArray()[0] % candidates.Count);
        return candidates[(start + attempt - 1) % candidates.Count];
    }

    /// <summary>
    /// A step without a template gets: without <c>dependsOn</c>, the output of the latest earlier step
    /// that succeeded (the run input for none); with one dependency, its output; with several, an
    /// object of their outputs by step id; with <c>dependsOn: []</c>, the run input.
    /// </summary>
    private JsonElement DefaultInput(int index)
    {
        var definition = Workflow.Steps[index];
        if (definition.DependsOn is null)
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

        var deps = _graph.Dependencies[index];
        return deps.Length switch
        {
            0 => _run.Input,
            1 => _run.Steps[deps[0]].Output ?? _run.Input,
            _ => JsonSerializer.SerializeToElement(deps.ToDictionary(d => _run.Steps[d].Id, d => _run.Steps[d].Output), RunJson.Options),
        };
    }

    private bool TryRender(JsonElement? template, JsonElement fallback, out JsonElement input, out string error) =>
        TryRender(template, fallback, Outputs(), out input, out error);

    private bool TryRender(JsonElement? template, JsonElement fallback, Dictionary<string, JsonElement?> outputs, out JsonElement input, out string error)
    {
        error = "";
        if (template is not { } value)
        {
            input = fallback.ValueKind == JsonValueKind.Undefined ? JsonSerializer.SerializeToElement<object?>(null) : fallback;
        }
        else
        {
            try
            {
                input = JsonSerializer.SerializeToElement(StepTemplates.Render(value, _run.Input, outputs, _limits.MaxStepInputBytes), RunJson.Options);
            }
            catch (TemplateTooLargeException)
            {
                input = default;
                error = $"The rendered input is over the limit of {_limits.MaxStepInputBytes} bytes (Orchestration:MaxStepInputBytes).";
                return false;
            }
        }

        var size = input.GetRawText().Length;
        if (size > _limits.MaxStepInputBytes)
        {
            error = $"The rendered input is {size} bytes, over the limit of {_limits.MaxStepInputBytes} bytes (Orchestration:MaxStepInputBytes).";
            return false;
        }

        return true;
    }

    private Dictionary<string, JsonElement?> Outputs() =>
        _run.Steps.ToDictionary(s => s.Id, s => s.Status == StepStatus.Succeeded ? s.Output : null, StringComparer.Ordinal);

    private int IndexOf(string stepId) => _graph.Index.TryGetValue(stepId, out var index) ? index : -1;

    /// <summary>A step, or one item of a forEach step (<c>&lt;step&gt;[&lt;i&gt;]</c> in task ids, timers and events).</summary>
    private readonly record struct Unit(int Step, int Item = -1)
    {
        public bool IsItem => Item >= 0;
    }

    private IWorkState State(Unit unit) => unit.IsItem ? _run.Steps[unit.Step].Items![unit.Item] : _run.Steps[unit.Step];

    private string UnitId(Unit unit) => unit.IsItem ? RunState.ItemId(_run.Steps[unit.Step].Id, unit.Item) : _run.Steps[unit.Step].Id;

    private Unit? Parse(string unitId)
    {
        if (!RunState.TryParseItemId(unitId, out var stepId, out var item))
        {
            return IndexOf(unitId) is >= 0 and var plain ? new Unit(plain) : null;
        }

        var index = IndexOf(stepId);
        return index >= 0 && _run.Steps[index].Items is { } items && item < items.Count ? new Unit(index, item) : null;
    }

    /// <summary>The forEach array of a started step (resolved again: its source never changes once done).</summary>
    private List<JsonElement> ItemsOf(int index)
    {
        var reference = StepTemplates.References(JsonSerializer.SerializeToElement(Workflow.Steps[index].ForEach!.Items)).First();
        return StepTemplates.Resolve(reference, _run.Input, Outputs()) is { ValueKind: JsonValueKind.Array } array ? [.. array.EnumerateArray()] : [];
    }

    private void Touch(Unit unit) => _transition.Attempts.Add((UnitId(unit), State(unit).Current!));

    /// <summary>
    /// Every value a run stores is kept twice: in the run's own field and in the event that reports it (the run's
    /// input and workflow_started, a step's output and step_completed). <see cref="RunState.StoredBytes"/> counts both.
    /// </summary>
    private const int Copies = 2;

    /// <summary>An error text as stored: at most <see cref="RunLimits.MaxErrorChars"/> characters, cut where it says so.</summary>
    private string BoundError(string error)
    {
        var max = _limits.MaxErrorChars;
        if (error.Length <= max)
        {
            return error;
        }

        var cut = char.IsHighSurrogate(error[max - 1]) ? max - 1 : max;
        return $"{error.AsSpan(0, cut)}… ({error.Length - cut} more characters not kept: Orchestration:MaxErrorChars)";
    }

    private void Emit(string type, string? stepId = null, int? attempt = null, object? data = null) =>
        _transition.Events.Add(new RunEvent(type, _run.RunId, _now, stepId, attempt,
            data is null ? null : JsonSerializer.SerializeToElement(data, RunJson.Options)));
}
