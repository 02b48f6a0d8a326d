using System.Diagnostics.Metrics;
using Orchestration.Api.Engine;
using Orchestration.Api.Model;
using static Orchestration.Api.Tests.Engine.Workflows;

namespace Orchestration.Api.Tests.Engine;

public sealed class TelemetryTests
{
    [Fact]
    public void A_for_each_items_completion_is_recorded_under_its_step()
    {
        using var meters = new OwnMeters();
        var telemetry = new OrchestrationTelemetry(meters);
        var step = Step("each") with { ForEach = new ForEachDefinition { Items = "{{input.list}}" } };
        var harness = new EngineHarness(Of(step), new { list = new[] { 1, 2 } }).WithAgent("worker");
        var durations = new List<(double Seconds, string? Status)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Scope == meters && instrument.Name == "orchestration.step.duration")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
            durations.Add((value, tags.ToArray().FirstOrDefault(t => t.Key == "step.status").Value as string)));
        listener.Start();

        harness.Apply(new StartRun());
        harness.Clock.Advance(TimeSpan.FromMilliseconds(500));
        var itemDone = harness.Apply(harness.GenuineResult(new Communication.Bus.Contracts.AgentTaskResult
        {
            RunId = "run-1", StepId = "each[0]", Attempt = 1, Ok = true, AgentId = "worker",
        }));

        // Was: the step looked up by the item's id ("each[0]") threw after the commit, so the next sends were skipped.
        Assert.Contains(itemDone.Events, e => e.Type == RunEventTypes.StepCompleted && e.StepId == "each[0]");
        telemetry.Record(itemDone);

        Assert.Equal([(0.5, RunEventTypes.StepCompleted)], durations);
    }

    private sealed class OwnMeters : IMeterFactory
    {
        private readonly List<Meter> _meters = [];

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(options.Name, options.Version, options.Tags, scope: this);
            _meters.Add(meter);
            return meter;
        }

        public void Dispose() => _meters.ForEach(m => m.Dispose());
    }
}
