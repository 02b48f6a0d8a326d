using System.Text.Json;
using Microsoft.Extensions.Options;
using Orchestration.Api.Model;
using Orchestration.Api.Services;

namespace Orchestration.Api.Engine;

/// <summary>The outcome of a start: the run, and whether this request created it.</summary>
public sealed record StartOutcome(RunState Run, bool Created);

/// <summary>A run kept changing under this replica; the caller may try again.</summary>
public sealed class RunContentionException(string runId)
    : Exception($"Run {runId} kept changing while this replica tried to update it; try again.");

/// <summary>The idempotency key already started a run with a different input.</summary>
public sealed class IdempotencyConflictException(string runId)
    : Exception($"The idempotency key already started run {runId} with a different input.")
{
    public string RunId { get; } = runId;
}

/// <summary>
/// Moves runs forward on any replica: load → reduce → compare-and-set commit → send tasks.
/// A transition is stored with its tasks (the outbox) before they are sent; if this replica dies
/// in between, the run's wakeup makes another replica send them. Tasks carry stable message ids,
/// so a resend never makes an agent do an attempt twice. Every commit is scheduled before (crash
/// safety) and after (so no concurrent wakeup release can push it later) it is stored.
/// </summary>
public sealed partial class RunEngine(
    RunStore store,
    WorkflowStore workflows,
    AgentDirectory agents,
    ITaskPublisher publisher,
    TimeProvider time,
    OrchestrationTelemetry telemetry,
    IOptions<OrchestrationOptions> options,
    ILogger<RunEngine> logger)
{
    private const int MaxCommitAttempts = 20;
    private readonly Dictionary<string, List<(RunInput Input, TaskCompletionSource<RunState?> Done)>> _batches = new(StringComparer.Ordinal);

    private OrchestrationOptions Options => options.Value;

    /// <summary>
    /// Creates and starts a run. With an idempotency key the run id is derived from the workflow and
    /// the key, so the first commit itself is the claim: the same key always gives the same run.
    /// </summary>
    public async Task<StartOutcome> StartAsync(WorkflowDefinition workflow, JsonElement input, string? idempotencyKey, CancellationToken cancellationToken)
    {
        var runId = idempotencyKey is null
            ? Guid.NewGuid().ToString("N")
            : DeterministicGuid.Create($"{workflow.Id}/{idempotencyKey}").ToString("N");
        var now = time.GetUtcNow();
        var traceParent = System.Diagnostics.Activity.Current?.Id;
        var nonce = Guid.NewGuid().ToString("N");
        RunState Template() => RunFactory.Create(runId, workflow, input, now, idempotencyKey, traceParent) with { Nonce = nonce };

        using var scope = logger.BeginScope(new RunScope(runId));
        await store.IndexAsync(Template(), Options.RunRetention);
        var started = await CommitAsync(() => Task.FromResult<RunState?>(Template()), 0, [new StartRun()]);
        if (started is not null)
        {
            return new StartOutcome(started, Created: true);
        }

        var existing = await store.LoadAsync(runId) ?? throw new RunContentionException(runId);
        return JsonElement.DeepEquals(existing.State.Input, input)
            ? new StartOutcome(existing.State, Created: false)
            : throw new IdempotencyConflictException(runId);
    }

    /// <summary>
    /// Applies an input to a stored run; returns the run after it (null if the run does not exist).
    /// Inputs for one run that arrive while a transition of it is in flight on this replica are applied
    /// together in the next one (group commit): a fan-in costs one load and one commit, not one
    /// compare-and-set race per answer.
    /// </summary>
    public async Task<RunState?> ApplyAsync(string runId, RunInput input, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource<RunState?>(TaskCreationOptions.RunContinuationsAsynchronously);
        bool leader;
        lock (_batches)
        {
            leader = !_batches.TryGetValue(runId, out var waiting);
            if (leader)
            {
                _batches[runId] = [(input, done)];
            }
            else
            {
                waiting!.Add((input, done));
            }
        }

        if (!leader)
        {
            return await done.Task.WaitAsync(cancellationToken);
        }

        while (true)
        {
            List<(RunInput Input, TaskCompletionSource<RunState?> Done)> batch;
            lock (_batches)
            {
                var pending = _batches[runId];
                if (pending.Count == 0)
                {
                    _batches.Remove(runId);
                    break;
                }

                batch = [.. pending];
                pending.Clear();
            }

            try
            {
                var run = await ApplyBatchAsync(runId, batch.Select(b => b.Input).ToList(), cancellationToken);
                batch.ForEach(b => b.Done.TrySetResult(run));
            }
            catch (Exception ex)
            {
                batch.ForEach(b => b.Done.TrySetException(ex));
            }
        }

        return await done.Task;
    }

    private async Task<RunState?> ApplyBatchAsync(string runId, IReadOnlyList<RunInput> inputs, CancellationToken cancellationToken)
    {
        using var scope = logger.BeginScope(new RunScope(runId));
        for (var attempt = 0; attempt < MaxCommitAttempts; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var stored = await store.LoadAsync(runId);
            if (stored is null)
            {
                return null;
            }

            var first = true;
            var result = await CommitAsync(async () =>
            {
                if (first)
                {
                    first = false;
                    return stored.State;
                }

                return (await store.LoadAsync(runId))?.State;
            }, stored.Version, inputs);
            if (result is not null)
            {
                return result;
            }

            telemetry.Conflict();
        }

        throw new RunContentionException(runId);
    }

    /// <summary>Handles the runs whose wakeup is due: fires due timers, then resends unconfirmed tasks.</summary>
    public async Task<int> ProcessDueAsync(int max, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var due = await store.ClaimDueAsync(now, now + Options.TimerLease, max);
        await Parallel.ForEachAsync(due, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (wakeup, ct) =>
        {
            using var scope = logger.BeginScope(new RunScope(wakeup.RunId));
            try
            {
                var run = await ApplyAsync(wakeup.RunId, new TimersDue(), ct);
                if (run is null)
                {
                    // Not stored yet (a start in flight) unless it is not even listed: then it is gone.
                    var next = await store.IsIndexedAsync(wakeup.RunId) ? time.GetUtcNow() + Options.TimerLease : (DateTimeOffset?)null;
                    await store.ReleaseAsync(wakeup, time.GetUtcNow(), next);
                    return;
                }

                // An ended run may still owe its parent the news of its end (a command in its outbox).
                var allSent = await ResendOutboxAsync(run, ct);
                var done = run.IsTerminal && run.Compensation is null && allSent;
                await store.ReleaseAsync(wakeup, time.GetUtcNow(), done ? null : NextWakeup(run, outboxPending: !allSent));
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogWakeupFailed(logger, ex, wakeup.RunId);
            }
        });
        return due.Count;
    }

    /// <summary>Reduces and stores; null when the stored version moved on (the caller reloads and retries).</summary>
    private async Task<RunState?> CommitAsync(Func<Task<RunState?>> load, long version, IReadOnlyList<RunInput> input)
    {
        var limits = new RunLimits(Options.MaxStepInputBytes, Options.MaxRunBytes, Options.MaxForEachItems, Options.MaxWorkflowDepth, Options.MaxErrorChars);
        var transition = RunReducer.Apply((await load())!, input, time.GetUtcNow(), await agents.GetAsync(), limits);
        if (transition.NoAgent && agents.Age > TimeSpan.FromMilliseconds(100) && await load() is { } again)
        {
            // The cached view may predate a registration: look again before failing the attempt.
            transition = RunReducer.Apply(again, input, time.GetUtcNow(), await agents.GetAsync(fresh: true), limits);
        }

        var run = transition.State;
        if (!transition.Changed)
        {
            return version == 0 ? null : run;
        }

        var outboxPending = transition.Dispatches.Count > 0 || transition.Commands.Count > 0;
        // An ended run still needs its wakeup while it owes another run a command or undoes its steps for its parent.
        DateTimeOffset? next = run.IsTerminal && run.Compensation is null && transition.Commands.Count == 0 ? null : NextWakeup(run, outboxPending);
        if (next is { } before)
        {
            await store.ScheduleAsync(run.RunId, before);
        }

        if (await store.CommitAsync(transition, version, run.IsTerminal ? Options.RunRetention : null) is null)
        {
            return null;
        }

        // From here the transition is stored: report problems, never undo it.
        telemetry.Record(transition);
        try
        {
            if (next is { } after)
            {
                await store.ScheduleAsync(run.RunId, after);
            }
            else
            {
                await store.UnscheduleAsync(run.RunId);
            }

            await SendAsync(run, transition.Dispatches);
            if (transition.Commands.Count > 0)
            {
                // Not awaited: a command applies a transition to another run, whose own commands may come back to
                // this one (a child ending while its parent cancels it); awaiting it here, inside this run's
                // transition, could wait on itself. The outbox keeps it until it is done.
                _ = Task.Run(() => RunCommandsAsync(run, transition.Commands, CancellationToken.None), CancellationToken.None);
            }
        }
        catch (Exception ex)
        {
            LogAfterCommitFailed(logger, ex, run.RunId);
        }

        return run;
    }

    private async Task<bool> SendAsync(RunState run, IReadOnlyList<TaskDispatch> dispatches)
    {
        if (dispatches.Count == 0)
        {
            return true;
        }

        // All at once (the Redis connection pipelines them): a fan-out's tasks reach their agents together, one
        // round trip instead of one per task, so their results come back together and meet in one group commit.
        var published = await Task.WhenAll(dispatches.Select(dispatch => PublishAsync(run, dispatch)));
        var sent = dispatches.Where((_, i) => published[i]).Select(dispatch => dispatch.MessageId).ToList();
        if (sent.Count > 0)
        {
            await store.ConfirmSentAsync(run.RunId, sent);
        }

        return sent.Count == dispatches.Count;
    }

    private async Task<bool> PublishAsync(RunState run, TaskDispatch dispatch)
    {
        try
        {
            await publisher.PublishAsync(dispatch, run.TraceParent, CancellationToken.None);
            return true;
        }
        catch (Exception ex)
        {
            // Left in the outbox: the run's wakeup resends it.
            LogSendFailed(logger, ex, dispatch.MessageId, run.RunId);
            return false;
        }
    }

    /// <summary>Resends stored tasks and commands that are still wanted; drops the rest. True when nothing is left.</summary>
    private async Task<bool> ResendOutboxAsync(RunState run, CancellationToken cancellationToken)
    {
        var (tasks, commands) = await store.PendingOutboxAsync(run.RunId);
        if (tasks.Count == 0 && commands.Count == 0)
        {
            return true;
        }

        var wanted = run.RunningMessageIds()
            .Append(run.Compensation?.CurrentMessageId)
            .OfType<string>()
            .ToHashSet(StringComparer.Ordinal);

        // A child start is wanted while its attempt waits for it; cancels and end notices always are (both idempotent).
        var stale = tasks.Where(p => !wanted.Contains(p.MessageId)).Select(p => p.MessageId)
            .Concat(commands.Where(c => c.Kind == RunCommandKind.StartChild && !wanted.Contains(c.RunId)).Select(c => c.OutboxKey))
            .ToList();
        if (stale.Count > 0)
        {
            await store.DiscardOutboxAsync(run.RunId, stale);
        }

        var resend = tasks.Where(p => wanted.Contains(p.MessageId)).ToList();
        var redo = commands.Where(c => c.Kind != RunCommandKind.StartChild || wanted.Contains(c.RunId)).ToList();
        if (resend.Count == 0 && redo.Count == 0)
        {
            return true;
        }

        LogResending(logger, resend.Count + redo.Count, run.RunId);
        var sent = resend.Count == 0 || await SendAsync(run, resend);
        return await RunCommandsAsync(run, redo, cancellationToken) && sent;
    }

    /// <summary>Carries out a run's commands; each one done is removed from the outbox. True when all are done.</summary>
    private async Task<bool> RunCommandsAsync(RunState run, IReadOnlyList<RunCommand> commands, CancellationToken cancellationToken)
    {
        var done = new List<string>(commands.Count);
        foreach (var command in commands)
        {
            try
            {
                await RunCommandAsync(run, command, cancellationToken);
                done.Add(command.OutboxKey);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // Left in the outbox: the run's wakeup tries again.
                LogCommandFailed(logger, ex, command.Kind, command.RunId, run.RunId);
            }
        }

        try
        {
            if (done.Count > 0)
            {
                await store.ConfirmSentAsync(run.RunId, done);
            }
        }
        catch (Exception ex)
        {
            LogCommandFailed(logger, ex, RunCommandKind.NotifyParent, run.RunId, run.RunId);
            return false;
        }

        return done.Count == commands.Count;
    }

    private async Task RunCommandAsync(RunState run, RunCommand command, CancellationToken cancellationToken)
    {
        switch (command.Kind)
        {
            case RunCommandKind.StartChild:
                await StartChildAsync(run, command, cancellationToken);
                break;
            case RunCommandKind.CancelChild:
                // A child not stored (yet) is no problem: its start, if still in flight, looks at the parent after it.
                await ApplyAsync(command.RunId, new CancelRun(), cancellationToken);
                break;
            case RunCommandKind.CompensateChild:
                await ApplyAsync(command.RunId, new CompensateRun(), cancellationToken);
                break;
            case RunCommandKind.NotifyParentCompensated when run.Undone && command.Parent is { } undoneFor:
                await ApplyAsync(command.RunId, new ChildRunCompensated(undoneFor.StepId, run.RunId, run.CompensationFailed.Count == 0,
                    run.CompensationFailed.Count == 0 ? null : $"The child run could not compensate: {string.Join(", ", run.CompensationFailed)}."), cancellationToken);
                break;
            case RunCommandKind.NotifyParent when run.IsTerminal && command.Parent is { } parent:
                var status = JsonSerializer.Serialize(run.Status, RunJson.Options).Trim('"');
                await ApplyAsync(command.RunId, new ChildRunEnded(parent.StepId, parent.Attempt, run.RunId, run.Status,
                    run.Status == RunStatus.Succeeded ? run.Output : null,
                    run.Error ?? (run.Status == RunStatus.Succeeded ? null : $"The child run ended {status}."),
                    Retryable: run.Status != RunStatus.Cancelled), cancellationToken);
                break;
        }
    }

    /// <summary>
    /// Starts the child run of a <c>workflow</c> step under its derived id (the first commit claims it: a second
    /// start, on any replica, finds it), then looks at the parent again: if the parent stopped waiting for this
    /// child meanwhile (its cancel found no child to cancel yet), the child is cancelled now.
    /// </summary>
    private async Task StartChildAsync(RunState parent, RunCommand command, CancellationToken cancellationToken)
    {
        var link = command.Parent!;
        var workflow = command.WorkflowVersion is { } version
            ? await workflows.GetVersionAsync(command.WorkflowId!, version)
            : await workflows.GetAsync(command.WorkflowId!);
        var input = command.Input ?? JsonSerializer.SerializeToElement(new { });
        string? refusal = workflow is null
            ? $"No workflow '{command.WorkflowId}'{(command.WorkflowVersion is { } v ? $" version {v}" : "")} is stored."
            : WorkflowValidator.ValidateInput(workflow, input) is { Count: > 0 } errors
                ? $"The input does not fit workflow '{command.WorkflowId}': {string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}"))}"
                : null;
        if (refusal is not null)
        {
            await ApplyAsync(link.RunId, new ChildRunEnded(link.StepId, link.Attempt, command.RunId, RunStatus.Failed, null, refusal, Retryable: false), cancellationToken);
            return;
        }

        var now = time.GetUtcNow();
        var nonce = Guid.NewGuid().ToString("N");
        RunState Template() => RunFactory.Create(command.RunId, workflow!, input, now, traceParent: parent.TraceParent)
            with { Nonce = nonce, Parent = link, Depth = command.Depth };
        using (logger.BeginScope(new RunScope(command.RunId)))
        {
            await store.IndexAsync(Template(), Options.RunRetention);
            await CommitAsync(() => Task.FromResult<RunState?>(Template()), 0, [new StartRun()]);
        }

        var current = (await store.LoadAsync(link.RunId))?.State;
        if (current is null || !current.WaitsForChild(link.StepId, link.Attempt, command.RunId))
        {
            await ApplyAsync(command.RunId, new CancelRun(), cancellationToken);
        }
    }

    private DateTimeOffset NextWakeup(RunState run, bool outboxPending)
    {
        DateTimeOffset? next = run.Timers.Count == 0 ? null : run.Timers.Min(t => t.DueAt);
        if (outboxPending)
        {
            // Slow agents cost one extra wakeup per step; fast ones answer before it is due.
            var grace = time.GetUtcNow() + Options.OutboxGrace;
            next = next is null || grace < next ? grace : next;
        }

        return next ?? time.GetUtcNow() + Options.TimerLease;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Resending {Count} stored task(s) of run {RunId} that were not confirmed sent.")]
    private static partial void LogResending(ILogger logger, int count, string runId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Handling the wakeup of run {RunId} failed; it will be retried when the lease ends.")]
    private static partial void LogWakeupFailed(ILogger logger, Exception exception, string runId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sending task {MessageId} of run {RunId} failed; the run's wakeup resends it.")]
    private static partial void LogSendFailed(ILogger logger, Exception exception, string messageId, string runId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Kind} for run {TargetRunId} (from run {RunId}) failed; the run's wakeup tries again.")]
    private static partial void LogCommandFailed(ILogger logger, Exception exception, RunCommandKind kind, string targetRunId, string runId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run {RunId} is stored, but scheduling or sending after the commit failed; its wakeup recovers.")]
    private static partial void LogAfterCommitFailed(ILogger logger, Exception exception, string runId);
}
