using Communication.Bus.Contracts;
using Orchestration.Api.Engine;
using Orchestration.Api.Model;
using static Orchestration.Api.Tests.Engine.Workflows;

namespace Orchestration.Api.Tests.Engine;

/// <summary>
/// Properties of the reducer over seeded random graphs, agent behaviours and timings (FakeTimeProvider
/// through <see cref="EngineHarness"/>): every run terminates; every attempt is sent at most once; no step
/// starts before its dependencies are done; the skip rules hold; compensation runs in reverse completion order.
/// </summary>
public sealed class RandomGraphPropertyTests
{
    [Theory]
    [MemberData(nameof(Seeds))]
    public void Random_graphs_keep_the_engine_properties(int seed)
    {
        var random = new Random(seed);
        var workflow = RandomWorkflow(random);
        var flags = new { a = random.Next(2) == 0, b = random.Next(2) == 0, items = Enumerable.Range(0, random.Next(0, 5)).ToArray() };
        var harness = new EngineHarness(workflow, flags).WithAgent("worker").WithAgent("undo");
        var failures = workflow.Steps.ToDictionary(s => s.Id, _ => random.NextDouble() < 0.2 ? random.Next(1, 4) : 0);
        var delays = workflow.Steps.ToDictionary(s => s.Id, _ => TimeSpan.FromMilliseconds(random.Next(1, 400)));
        static string StepOf(string unitId) => RunState.TryParseItemId(unitId, out var stepId, out _) ? stepId : unitId;
        harness.Behaviour = task => task.Kind == AgentTaskKind.Compensation
            ? Reply.Ok(task, new { })
            : task.Attempt <= failures[StepOf(task.StepId)]
                ? Reply.Fail(task, "flaky", delay: delays[StepOf(task.StepId)])
                : Reply.Ok(task, new { step = task.StepId }, delays[StepOf(task.StepId)]);

        var run = harness.RunToEnd();

        Assert.True(run.IsTerminal, $"seed {seed}: the run ended ({run.Status})");

        // Every attempt's task is sent at most once.
        var steps = harness.Dispatched.Where(d => d.Task.Kind == AgentTaskKind.Step).ToList();
        Assert.Equal(steps.Count, steps.Select(d => (d.Task.StepId, d.Task.Attempt)).Distinct().Count());
        Assert.Equal(harness.Dispatched.Count, harness.Dispatched.Select(d => d.MessageId).Distinct().Count());

        // No step starts before every dependency is done.
        var graph = Orchestration.Api.Services.WorkflowGraph.Of(workflow);
        for (var i = 0; i < workflow.Steps.Count; i++)
        {
            var started = harness.Events.FindIndex(e => e.StepId == workflow.Steps[i].Id && e.Type is RunEventTypes.StepStarted or RunEventTypes.StepRetrying);
            if (started < 0)
            {
                continue;
            }

            foreach (var dep in graph.Dependencies[i])
            {
                var done = harness.Events.FindIndex(e => e.StepId == workflow.Steps[dep].Id && e.Type is RunEventTypes.StepCompleted or RunEventTypes.StepSkipped);
                Assert.True(done >= 0 && done < started, $"seed {seed}: {workflow.Steps[i].Id} started before {workflow.Steps[dep].Id} was done");
            }
        }

        // Skip rules.
        for (var i = 0; i < workflow.Steps.Count; i++)
        {
            var state = run.Steps[i];
            var deps = graph.Dependencies[i];
            var depsLeftOut = deps.Length > 0 && deps.All(d => run.Steps[d].SkipReason is "condition" or "dependencies");
            if (state.SkipReason == "dependencies")
            {
                Assert.True(depsLeftOut, $"seed {seed}: {state.Id} skipped for its dependencies although one ran");
            }
            else if (depsLeftOut && run.Status == RunStatus.Succeeded)
            {
                Assert.Fail($"seed {seed}: {state.Id} ran although everything it depends on was left out");
            }

            if (state.SkipReason == "condition")
            {
                Assert.NotNull(workflow.Steps[i].When);
            }
        }

        if (run.Status == RunStatus.Succeeded)
        {
            Assert.All(run.Steps, s => Assert.Contains(s.Status, new[] { StepStatus.Succeeded, StepStatus.Skipped }));
        }

        // Compensation undoes completed steps, the most recently completed first.
        var completed = harness.Events.Where(e => e.Type == RunEventTypes.StepCompleted && !e.StepId!.Contains('[', StringComparison.Ordinal)).Select(e => e.StepId!).ToList();
        var expected = completed.Where(id => workflow.Steps.First(s => s.Id == id).Compensate is not null).Reverse().ToList();
        Assert.Equal(run.Status == RunStatus.Succeeded ? [] : expected, run.Compensated);
    }

    public static TheoryData<int> Seeds()
    {
        var data = new TheoryData<int>();
        for (var seed = 1; seed <= 200; seed++)
        {
            data.Add(seed);
        }

        return data;
    }

    private static WorkflowDefinition RandomWorkflow(Random random)
    {
        var count = random.Next(2, 10);
        var steps = new List<StepDefinition>();
        for (var i = 0; i < count; i++)
        {
            var step = Step($"s{i}", onFail: (OnFail)random.Next(3), maxAttempts: random.Next(1, 4),
                timeoutMs: random.Next(200, 2_000), compensateWith: random.Next(3) == 0 ? "undo" : null);
            if (i > 0 && random.Next(3) > 0)
            {
                step = step with { DependsOn = Enumerable.Range(0, i).Where(_ => random.Next(3) == 0).Select(d => $"s{d}").ToList() };
            }

            if (random.Next(5) == 0)
            {
                step = step with { ForEach = new ForEachDefinition { Items = "{{input.items}}", MaxConcurrency = random.Next(3) } };
            }

            if (random.Next(4) == 0)
            {
                step = step with { When = random.Next(2) == 0 ? "input.a" : "input.b == false or input.a" };
            }

            steps.Add(step);
        }

        return Of([.. steps]) with { MaxParallelism = random.Next(4) };
    }
}
