using Orchestration.Api.Engine;
using Orchestration.Api.Model;
using static Orchestration.Api.Tests.Engine.Workflows;

namespace Orchestration.Api.Tests.Engine;

/// <summary>
/// Issue 9, bounded work per request: the issue's own repro (one step-input template holding 100 copies of a 500 KB
/// run input rendered 50 MB and grew the process by 1.1 GB) must stop at the bound without building the copies.
/// </summary>
public sealed class BoundedRenderTests
{
    private const int InputChars = 500_000;

    private static readonly Dictionary<string, string> HundredCopies =
        Enumerable.Range(0, 100).ToDictionary(i => $"copy{i}", _ => "{{input.big}}");

    [Fact]
    public void Rendering_100_copies_of_a_500_KB_input_fails_the_step_once_without_building_them()
    {
        var harness = new EngineHarness(Of(Step("s1", maxAttempts: 3, input: HundredCopies)), new { big = new string('x', InputChars) })
            .WithAgent("worker");

        var before = GC.GetAllocatedBytesForCurrentThread();
        harness.Apply(new StartRun());
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(RunStatus.Failed, harness.Run.Status);
        Assert.Contains("Orchestration:MaxStepInputBytes", harness.Run.Steps[0].Error, StringComparison.Ordinal);
        Assert.Empty(harness.Dispatched);
        Assert.Empty(harness.Run.Timers);
        Assert.Equal(1, harness.Run.Steps[0].Attempts);
        // Rendering the copies would allocate at least 100 x 500 KB (50 MB of UTF-8, twice that as UTF-16); the
        // render stops at the first copy past 256 KiB. The bound leaves room for the run's own copies of its input.
        TestContext.Current.TestOutputHelper?.WriteLine($"the transition allocated {allocated:N0} bytes");
        Assert.True(allocated < 8 * 1024 * 1024, $"the transition allocated {allocated:N0} bytes");
    }

    [Fact]
    public void Rendering_100_copies_of_a_500_KB_step_output_fails_the_next_step_once_without_building_them()
    {
        var workflow = Of(Step("s1"), Step("s2", maxAttempts: 3, input: Enumerable.Range(0, 100).ToDictionary(i => $"copy{i}", _ => "{{steps.s1.output.text}}")) with { DependsOn = ["s1"] });
        var harness = new EngineHarness(workflow).WithAgent("worker");
        harness.Behaviour = _ => AgentReply.Silent;
        harness.Apply(new StartRun());
        var result = harness.GenuineResult(new Communication.Bus.Contracts.AgentTaskResult
        {
            RunId = harness.Run.RunId, StepId = "s1", Attempt = 1, Ok = true, AgentId = "worker",
            Output = System.Text.Json.JsonSerializer.SerializeToElement(new { text = new string('y', InputChars) }),
        });

        var before = GC.GetAllocatedBytesForCurrentThread();
        harness.Apply(result);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(RunStatus.Failed, harness.Run.Status);
        Assert.Contains("Orchestration:MaxStepInputBytes", harness.Run.Steps[1].Error, StringComparison.Ordinal);
        Assert.Equal(["s1"], harness.Dispatched.Select(d => d.Task.StepId));
        Assert.Empty(harness.Run.Timers);
        TestContext.Current.TestOutputHelper?.WriteLine($"the transition allocated {allocated:N0} bytes");
        Assert.True(allocated < 8 * 1024 * 1024, $"the transition allocated {allocated:N0} bytes");
    }
}
