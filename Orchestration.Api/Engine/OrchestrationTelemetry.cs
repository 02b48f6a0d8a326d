using System.Diagnostics;
using System.Diagnostics.Metrics;
using Orchestration.Api.Model;

namespace Orchestration.Api.Engine;

/// <summary>The orchestrator's traces and metrics (source and meter "Orchestration.Api").</summary>
public sealed class OrchestrationTelemetry
{
    public const string Name = "Orchestration.Api";
    public static readonly ActivitySource ActivitySource = new(Name);

    private readonly Counter<long> _runsStarted;
    private readonly Counter<long> _runsEnded;
    private readonly Counter<long> _stepAttempts;
    private readonly Counter<long> _stepRetries;
    private readonly Counter<long> _commitConflicts;
    private readonly Histogram<double> _runDuration;
    private readonly Histogram<double> _stepDuration;

    public OrchestrationTelemetry(IMeterFactory meters)
    {
        var meter = meters.Create(Name);
        _runsStarted = meter.CreateCounter<long>("orchestration.runs.started", "{run}", "Runs started.");
        _runsEnded = meter.CreateCounter<long>("orchestration.runs.ended", "{run}", "Runs ended, by status (SUCCEEDED, FAILED, CANCELLED, TIMED_OUT).");
        _stepAttempts = meter.CreateCounter<long>("orchestration.step.attempts", "{attempt}", "Step attempts sent to agents.");
        _stepRetries = meter.CreateCounter<long>("orchestration.step.retries", "{retry}", "Step attempts that failed and will be retried.");
        _commitConflicts = meter.CreateCounter<long>("orchestration.commit.conflicts", "{conflict}", "Transitions redone because another replica changed the run first.");
        _runDuration = meter.CreateHistogram<double>("orchestration.run.duration", "s", "Time from start to end of a run.");
        _stepDuration = meter.CreateHistogram<double>("orchestration.step.duration", "s", "Time from first attempt to the end of a step.");
    }

    public void Record(RunTransition transition)
    {
        var run = transition.State;
        foreach (var e in transition.Events)
        {
            var workflow = new KeyValuePair<string, object?>("workflow.id", run.Workflow.Id);
            switch (e.Type)
            {
                case RunEventTypes.WorkflowStarted:
                    _runsStarted.Add(1, workflow);
                    break;
                case RunEventTypes.StepStarted:
                    _stepAttempts.Add(1, workflow);
                    break;
                case RunEventTypes.StepRetrying:
                    _stepRetries.Add(1, workflow);
                    break;
                case RunEventTypes.StepCompleted or RunEventTypes.StepFailed or RunEventTypes.StepSkipped:
                    // A forEach item's events name it <step>[<i>]: it counts under its step.
                    RunState.TryParseItemId(e.StepId!, out var stepId, out _);
                    var step = run.Steps.Find(s => s.Id == stepId);
                    if (step?.StartedAt is { } started)
                    {
                        _stepDuration.Record((e.At - started).TotalSeconds, workflow, new("step.status", e.Type));
                    }

                    break;
            }

            if (RunEventTypes.IsTerminal(e.Type))
            {
                var status = new KeyValuePair<string, object?>("run.status", run.Status.ToString());
                _runsEnded.Add(1, workflow, status);
                if (run.StartedAt is { } started)
                {
                    _runDuration.Record((e.At - started).TotalSeconds, workflow, status);
                }
            }
        }
    }

    public void Conflict() => _commitConflicts.Add(1);
}
