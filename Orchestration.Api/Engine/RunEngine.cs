using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Orchestration.Api.Model;

namespace Orchestration.Api.Engine;

/// <summary>
/// Moves runs forward on any replica: load → reduce → compare-and-set commit → send tasks.
/// A transition is stored with its tasks (the outbox) before they are sent; if this replica dies in
/// between, the run's wakeup makes another replica send them. Tasks carry stable message ids, so a
/// resend never makes an agent do an attempt twice.
/// </summary>
public sealed partial class RunEngine(
    RunStore store,
    AgentDirectory agents,
    ITaskPublisher publisher,
    TimeProvider time,
    OrchestrationTelemetry telemetry,
    IOptions<OrchestrationOptions> options,
    ILogger<RunEngine> logger)
{
    private const int MaxCommitAttempts = 20;

    private OrchestrationOptions Options => options.Value;

    /// <summary>Creates and starts a run (or returns the run that already holds the idempotency key).</summary>
    public async Task<(RunState Run, bool Created)> StartAsync(WorkflowDefinition workflow, JsonElement input, string? idempotencyKey, CancellationToken cancellationToken)
    {
        var runId = Guid.NewGuid().ToString("N");
        if (idempotencyKey is not null)
        {
            var holder = await store.ClaimIdempotencyKeyAsync(workflow.Id, idempotencyKey, runId, Options.RunRetention);
            if (holder != runId)
            {
                var existing = await store.LoadAsync(holder);
                return (existing?.State ?? RunFactory.Create(holder, workflow, input, time.GetUtcNow(), idempotencyKey), false);
            }
        }

        var run = RunFactory.Create(runId, workflow, input, time.GetUtcNow(), idempotencyKey, Activity.Current?.Id);
        var started = await CommitAsync(run, 0, new StartRun(), cancellationToken)
            ?? throw new InvalidOperationException($"Run {runId} could not be stored.");
        await store.IndexAsync(started, Options.RunRetention);
        return (started, true);
    }

    /// <summary>Applies an input to a stored run; returns the run after it (null if the run does not exist).</summary>
    public async Task<RunState?> ApplyAsync(string runId, RunInput input, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < MaxCommitAttempts; attempt++)
        {
            var stored = await store.LoadAsync(runId);
            if (stored is null)
            {
                return null;
            }

            var result = await CommitAsync(stored.State, stored.Version, input, cancellationToken);
            if (result is not null)
            {
                return result;
            }

            telemetry.Conflict();
        }

        throw new InvalidOperationException($"Run {runId} changed {MaxCommitAttempts} times while applying {input.GetType().Name}.");
    }

    /// <summary>Handles the runs whose wakeup is due: resends unconfirmed tasks, fires due timers.</summary>
    public async Task<int> ProcessDueAsync(int max, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var leaseUntil = now + Options.TimerLease;
        var due = await store.ClaimDueAsync(now, leaseUntil, max);
        await Parallel.ForEachAsync(due, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (runId, ct) =>
        {
            try
            {
                await ResendOutboxAsync(runId, ct);
                var run = await ApplyAsync(runId, new TimersDue(), ct);
                await store.ReleaseAsync(runId, leaseUntil, run is null || run.IsTerminal ? null : NextWakeup(run, outboxPending: false));
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogWakeupFailed(logger, ex, runId);
            }
        });
        return due.Count;
    }

    private async Task<RunState?> CommitAsync(RunState current, long version, RunInput input, CancellationToken cancellationToken)
    {
        var candidates = await agents.GetAsync();
        var transition = RunReducer.Apply(current, input, time.GetUtcNow(), candidates);
        if (NoAgentFound(transition) && agents.Age > TimeSpan.FromMilliseconds(100))
        {
            // The cached view may predate a registration: look again before failing the attempt.
            transition = RunReducer.Apply(current, input, time.GetUtcNow(), await agents.GetAsync(fresh: true));
        }

        if (!transition.Changed)
        {
            return version == 0 ? null : current;
        }

        var run = transition.State;
        if (!run.IsTerminal)
        {
            await store.ScheduleAsync(run.RunId, NextWakeup(run, transition.Dispatches.Count > 0)!.Value);
        }

        if (await store.CommitAsync(transition, version, run.IsTerminal ? Options.RunRetention : null) is null)
        {
            return null;
        }

        telemetry.Record(transition);
        if (run.IsTerminal)
        {
            await store.UnscheduleAsync(run.RunId);
        }

        await SendAsync(run, transition.Dispatches, cancellationToken);
        return run;
    }

    private async Task SendAsync(RunState run, IReadOnlyList<TaskDispatch> dispatches, CancellationToken cancellationToken)
    {
        if (dispatches.Count == 0)
        {
            return;
        }

        foreach (var dispatch in dispatches)
        {
            await publisher.PublishAsync(dispatch, run.TraceParent, cancellationToken);
        }

        await store.ConfirmSentAsync(run.RunId, dispatches.Select(d => d.MessageId));
    }

    private async Task ResendOutboxAsync(string runId, CancellationToken cancellationToken)
    {
        var pending = await store.PendingOutboxAsync(runId);
        if (pending.Count == 0)
        {
            return;
        }

        var stored = await store.LoadAsync(runId);
        LogResending(logger, pending.Count, runId);
        await SendAsync(stored?.State ?? throw new InvalidOperationException($"Run {runId} has an outbox but no state."), pending, cancellationToken);
    }

    private DateTimeOffset? NextWakeup(RunState run, bool outboxPending)
    {
        DateTimeOffset? next = run.Timers.Count == 0 ? null : run.Timers.Min(t => t.DueAt);
        if (outboxPending)
        {
            var grace = time.GetUtcNow() + Options.OutboxGrace;
            next = next is null || grace < next ? grace : next;
        }

        return next ?? time.GetUtcNow() + Options.TimerLease;
    }

    private static bool NoAgentFound(RunTransition transition) =>
        transition.Events.Any(e => e.Type is RunEventTypes.StepRetrying or RunEventTypes.StepFailed or RunEventTypes.StepSkipped or RunEventTypes.CompensationFailed
            && e.Data is { } data && data.TryGetProperty("error", out var error) && error.GetString()?.StartsWith("No active", StringComparison.Ordinal) == true);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Resending {Count} stored task(s) of run {RunId} that were not confirmed sent.")]
    private static partial void LogResending(ILogger logger, int count, string runId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Handling the wakeup of run {RunId} failed; it will be retried when the lease ends.")]
    private static partial void LogWakeupFailed(ILogger logger, Exception exception, string runId);
}
