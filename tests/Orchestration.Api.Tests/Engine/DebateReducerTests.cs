using System.Text.Json;
using Communication.Bus.Contracts;
using Orchestration.Api.Engine;
using Orchestration.Api.Model;
using static Orchestration.Api.Tests.Engine.Workflows;

namespace Orchestration.Api.Tests.Engine;

/// <summary>The debate step: proposals in parallel, critique-and-revise rounds, a judge that scores and may stop early.</summary>
public sealed class DebateReducerTests
{
    private static StepDefinition Debate(int rounds = 2, OnFail onFail = OnFail.Retry, int maxAttempts = 3, params string[] participants) => Step("debate", onFail: onFail, maxAttempts: maxAttempts,
        input: new { question = "{{input.request}}" }) with
    {
        Agent = null,
        Type = StepType.Debate,
        Debate = new DebateDefinition
        {
            Participants = (participants.Length == 0 ? ["architect", "engineer", "security"] : participants).Select(a => new DebateSeat { Agent = a }).ToList(),
            Rounds = rounds,
            Judge = new DebateSeat { Agent = "leader" },
            Criteria = ["feasibility", "security"],
        },
    };

    private static EngineHarness Harness(StepDefinition debate, params StepDefinition[] after)
    {
        var harness = new EngineHarness(Of([debate, .. after]), new { request = "Design a URL shortener" })
            .WithAgent("architect").WithAgent("engineer").WithAgent("security").WithAgent("leader").WithAgent("worker");
        harness.Behaviour = task => task.AgentId == "leader"
            ? Reply.Ok(task, Judgement(consensus: false, winner: "engineer"))
            : task.Input.TryGetProperty("round", out var round)
                ? Reply.Ok(task, new { agent = task.AgentId, text = $"{task.AgentId} says round {round.GetInt32()}" })
                : Reply.Ok(task, new { step = task.StepId });
        return harness;
    }

    private static object Judgement(bool consensus, string winner) => new
    {
        agent = "leader",
        text = "{…}",
        data = new
        {
            scores = new[] { new { participant = "architect", score = 7 }, new { participant = "engineer", score = 9 }, new { participant = "security", score = 6 } },
            winner,
            decision = $"Go with {winner}'s design.",
            consensus,
        },
    };

    [Fact]
    public void Participants_propose_in_parallel_then_revise_having_read_the_others_then_the_judge_decides()
    {
        var harness = Harness(Debate(rounds: 2));

        var run = harness.RunToEnd();

        Assert.Equal(RunStatus.Succeeded, run.Status);
        var turns = harness.Dispatched.Select(d => (d.Task.AgentId, Round: d.Task.Input.GetProperty("round").GetInt32())).ToList();
        Assert.Equal([("architect", 1), ("engineer", 1), ("security", 1), ("architect", 2), ("engineer", 2), ("security", 2), ("leader", 2)], turns);

        // Round 1 goes out in one transition: all three proposals run at once.
        Assert.Equal(3, harness.Dispatched.Count(d => d.Task.Input.GetProperty("round").GetInt32() == 1 && d.Task.AgentId != "leader"));

        // A revising participant reads the others' proposals (not its own among them) and its own as yourProposal.
        var revise = harness.Dispatched.Single(d => d.Task.AgentId == "engineer" && d.Task.Input.GetProperty("round").GetInt32() == 2).Task.Input;
        Assert.Equal(["architect", "security"], revise.GetProperty("proposals").EnumerateArray().Select(p => p.GetProperty("participant").GetString()));
        Assert.Equal("engineer says round 1", revise.GetProperty("yourProposal").GetString());
        Assert.Equal("Design a URL shortener", revise.GetProperty("topic").GetProperty("question").GetString());

        // The judge reads the final proposals and is asked for scores by schema.
        var judge = harness.Dispatched.Single(d => d.Task.AgentId == "leader").Task;
        Assert.All(judge.Input.GetProperty("proposals").EnumerateArray(), p => Assert.EndsWith("round 2", p.GetProperty("proposal").GetString(), StringComparison.Ordinal));
        Assert.Equal(["feasibility", "security"], judge.Input.GetProperty("criteria").EnumerateArray().Select(c => c.GetString()));
        Assert.NotNull(judge.OutputSchema);
        Assert.Equal(["architect", "engineer", "security"], judge.OutputSchema!.Value.GetProperty("properties").GetProperty("winner").GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
        Assert.All(harness.Dispatched.Where(d => d.Task.AgentId != "leader"), d => Assert.Null(d.Task.OutputSchema));

        // The transcript, the scores and the decision are the step's output.
        var output = run.Steps[0].Output!.Value;
        Assert.Equal(2, output.GetProperty("rounds").GetInt32());
        Assert.Equal(6, output.GetProperty("transcript").GetArrayLength());
        Assert.Equal("architect says round 1", output.GetProperty("transcript")[0].GetProperty("text").GetString());
        Assert.Equal(3, output.GetProperty("scores").GetArrayLength());
        Assert.Equal("engineer", output.GetProperty("winner").GetString());
        Assert.Equal("Go with engineer's design.", output.GetProperty("decision").GetString());
        Assert.Equal("leader", output.GetProperty("judge").GetString());
        Assert.False(output.GetProperty("consensus").GetBoolean());
    }

    [Fact]
    public void The_debate_stops_early_when_the_judge_finds_consensus()
    {
        var harness = Harness(Debate(rounds: 4));
        harness.Behaviour = task => task.AgentId == "leader"
            ? Reply.Ok(task, Judgement(consensus: true, winner: "architect"))
            : Reply.Ok(task, new { text = "same idea" });

        var run = harness.RunToEnd();

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal(2, run.Steps[0].Output!.Value.GetProperty("rounds").GetInt32());
        Assert.True(run.Steps[0].Output!.Value.GetProperty("consensus").GetBoolean());
        Assert.Single(harness.Dispatched, d => d.Task.AgentId == "leader");
        Assert.DoesNotContain(harness.Dispatched, d => d.Task.Input.GetProperty("round").GetInt32() > 2);
    }

    [Fact]
    public void Without_consensus_the_judge_is_asked_after_every_round_from_the_second_and_the_last_verdict_stands()
    {
        var harness = Harness(Debate(rounds: 3));

        var run = harness.RunToEnd();

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal([2, 3], harness.Dispatched.Where(d => d.Task.AgentId == "leader").Select(d => d.Task.Input.GetProperty("round").GetInt32()));
        Assert.Equal(3, run.Steps[0].Output!.Value.GetProperty("rounds").GetInt32());
        Assert.Equal(9, run.Steps[0].Output!.Value.GetProperty("transcript").GetArrayLength());
    }

    [Fact]
    public void A_participant_that_keeps_failing_is_retried_then_skipped_and_sits_out_the_rest()
    {
        var harness = Harness(Debate(rounds: 2, onFail: OnFail.Skip, maxAttempts: 2));
        var inner = harness.Behaviour;
        harness.Behaviour = task => task.AgentId == "security" ? Reply.Fail(task, "model unavailable") : inner(task);

        var run = harness.RunToEnd();

        Assert.Equal(RunStatus.Succeeded, run.Status);
        // SKIP per turn: with onFail SKIP a failed turn is not retried (as for forEach items); it sits out round 2.
        Assert.Equal(1, harness.Dispatched.Count(d => d.Task.AgentId == "security"));
        var output = run.Steps[0].Output!.Value;
        Assert.DoesNotContain(output.GetProperty("transcript").EnumerateArray(), t => t.GetProperty("participant").GetString() == "security");
        Assert.Equal(["architect", "engineer"], harness.Dispatched.Single(d => d.Task.AgentId == "leader").Task.Input.GetProperty("proposals").EnumerateArray().Select(p => p.GetProperty("participant").GetString()));
        Assert.Contains(harness.Events, e => e.Type == RunEventTypes.StepSkipped && e.StepId == "debate[2]");
    }

    [Fact]
    public void A_failing_participant_is_retried_per_turn_and_the_debate_goes_on_when_it_recovers()
    {
        var harness = Harness(Debate(rounds: 2));
        var inner = harness.Behaviour;
        harness.Behaviour = task => task.AgentId == "security" && task.Attempt == 1 ? Reply.Fail(task, "busy") : inner(task);

        var run = harness.RunToEnd();

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal(4, harness.Dispatched.Count(d => d.Task.AgentId == "security"));
        Assert.Equal(6, run.Steps[0].Output!.Value.GetProperty("transcript").GetArrayLength());
    }

    [Fact]
    public void A_judge_that_answers_in_prose_gives_the_decision_as_text_without_scores()
    {
        var harness = Harness(Debate(rounds: 1), Step("next", input: new { decision = "{{steps.debate.output.decision}}" }));
        var inner = harness.Behaviour;
        harness.Behaviour = task => task.AgentId == "leader" ? Reply.Ok(task, "The engineer's design wins.") : inner(task);

        var run = harness.RunToEnd();

        Assert.Equal(RunStatus.Succeeded, run.Status);
        var output = run.Steps[0].Output!.Value;
        Assert.Equal("The engineer's design wins.", output.GetProperty("decision").GetString());
        Assert.False(output.TryGetProperty("scores", out _));
        Assert.Equal("The engineer's design wins.", harness.Dispatched.Single(d => d.Task.StepId == "next").Task.Input.GetProperty("decision").GetString());
    }

    [Fact]
    public void When_nobody_proposes_the_step_fails_and_the_run_with_it()
    {
        var harness = Harness(Debate(rounds: 2, onFail: OnFail.Skip, maxAttempts: 1));
        harness.Behaviour = task => Reply.Fail(task, "down");

        var run = harness.RunToEnd();

        // SKIP applies to the step as a whole too: the run goes on without the debate.
        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal(StepStatus.Skipped, run.Steps[0].Status);
        Assert.Contains("No participant of the debate answered in round 1", run.Steps[0].Error, StringComparison.Ordinal);
        Assert.DoesNotContain(harness.Dispatched, d => d.Task.AgentId == "leader");
    }

    [Fact]
    public void A_participant_that_times_out_fails_the_run_under_abort()
    {
        var harness = Harness(Debate(rounds: 2, onFail: OnFail.Abort));
        var inner = harness.Behaviour;
        harness.Behaviour = task => task.AgentId == "engineer" ? AgentReply.Silent : inner(task);

        var run = harness.RunToEnd();

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal("debate", run.FailedStep);
        Assert.Contains("timed out", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Participants_may_be_capabilities_and_a_retry_moves_to_the_next_capable_agent()
    {
        var debate = Debate(rounds: 1) with
        {
            Debate = new DebateDefinition
            {
                Participants = [new DebateSeat { Name = "ideas", Capability = "ideation" }, new DebateSeat { Agent = "engineer" }],
                Rounds = 1,
                Judge = new DebateSeat { Capability = "judging" },
            },
        };
        var harness = new EngineHarness(Of(debate), new { request = "x" }).WithAgent("a1", "ideation").WithAgent("a2", "ideation").WithAgent("engineer").WithAgent("j", "judging");
        harness.Behaviour = task => task.Capability == "ideation" && task.Attempt == 1 ? Reply.Fail(task, "busy") : Reply.Ok(task, new { text = task.AgentId });

        var run = harness.RunToEnd();

        Assert.Equal(RunStatus.Succeeded, run.Status);
        var ideas = harness.Dispatched.Where(d => d.Task.Capability == "ideation").Select(d => d.Task.AgentId).ToList();
        Assert.Equal(2, ideas.Count);
        Assert.NotEqual(ideas[0], ideas[1]);
        Assert.Equal("ideas", run.Steps[0].Output!.Value.GetProperty("transcript")[0].GetProperty("participant").GetString());
        Assert.Equal("j", run.Steps[0].Output!.Value.GetProperty("judge").GetString());
    }
}
