using Microsoft.Extensions.DependencyInjection;
using Orchestration.Api.Engine;
using static Orchestration.Api.Tests.Integration.OrchestrationClient;

namespace Orchestration.Api.Tests.Integration;

/// <summary>
/// A transition that starts ten steps sends their ten tasks at once (the Redis connection pipelines them), not one
/// Redis round trip after another: the fan-out's agents get their tasks together and the results meet in one group
/// commit (docs/BENCHMARKS.md, fan-out).
/// </summary>
[Trait("Category", "Cluster")]
public sealed class FanOutSendTests : IntegrationTest
{
    private const int Branches = 10;
    private readonly TogetherGate _gate = new(Branches);

    protected override void ConfigureServices(IServiceCollection services) =>
        services.AddSingleton<ITaskPublisher>(sp => _gate.Wrap(ActivatorUtilities.CreateInstance<BusTaskPublisher>(sp)));

    [Fact]
    public async Task The_tasks_of_a_ten_way_fan_out_are_sent_together()
    {
        var worker = await AgentAsync("worker");
        var steps = Enumerable.Range(1, Branches).Select(i => Wf.Step($"b{i}", agent: "worker").With("dependsOn", new System.Text.Json.Nodes.JsonArray())).ToArray();
        await Api.PutWorkflowAsync(Wf.Of("fan", steps), Ct);

        var runId = await Api.StartRunAsync("fan", cancellationToken: Ct);
        var run = await Api.WaitForRunAsync(runId, cancellationToken: Ct);

        Assert.Equal("SUCCEEDED", Status(run));
        // One after another, the first send would wait for the other nine in vain and only one would be in flight.
        Assert.False(_gate.TimedOut, $"the sends were not all in flight together (at most {_gate.MaxInFlight})");
        Assert.Equal(Branches, _gate.MaxInFlight);
        Assert.All(Enumerable.Range(1, Branches), i => Assert.Equal(1, worker.Deliveries(runId, $"b{i}")));
    }

    /// <summary>Holds the first sends until <paramref name="expected"/> are in flight at once (or 5 s pass), then lets all go.</summary>
    private sealed class TogetherGate(int expected)
    {
        private readonly TaskCompletionSource _together = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _inFlight;
        private int _maxInFlight;

        public int MaxInFlight => Volatile.Read(ref _maxInFlight);

        public bool TimedOut { get; private set; }

        public ITaskPublisher Wrap(ITaskPublisher inner) => new Publisher(this, inner);

        private async Task PassAsync(Func<Task> send, CancellationToken cancellationToken)
        {
            var now = Interlocked.Increment(ref _inFlight);
            for (var max = MaxInFlight; now > max && Interlocked.CompareExchange(ref _maxInFlight, now, max) != max; max = MaxInFlight)
            {
            }

            if (now >= expected)
            {
                _together.TrySetResult();
            }

            try
            {
                try
                {
                    await _together.Task.WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
                }
                catch (TimeoutException)
                {
                    TimedOut = true;
                    _together.TrySetResult();
                }

                await send();
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
            }
        }

        private sealed class Publisher(TogetherGate gate, ITaskPublisher inner) : ITaskPublisher
        {
            public Task PublishAsync(TaskDispatch dispatch, string? traceParent, CancellationToken cancellationToken) =>
                gate.PassAsync(() => inner.PublishAsync(dispatch, traceParent, cancellationToken), cancellationToken);
        }
    }
}
