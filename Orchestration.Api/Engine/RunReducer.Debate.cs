using System.Text.Json;
using Orchestration.Api.Model;

namespace Orchestration.Api.Engine;

/// <summary>The turns of a debate step's items.</summary>
public static class DebateRoles
{
    public const string Propose = "propose";
    public const string Revise = "revise";
    public const string Judge = "judge";
}

/// <summary>
/// A <c>debate</c> step runs as items, one per turn, appended round by round: every participant proposes (round 1),
/// then in each later round critiques the others and revises its own proposal; from round 2 on (or after the only
/// round) the judge scores the proposals and decides, and the debate ends when the judge finds consensus or the last
/// round is judged. Turns are ordinary attempts: the step's onFail, maxAttempts, backoff and timeoutMs apply to each;
/// a participant whose turn is skipped (onFail SKIP) sits out the rest of the debate.
/// </summary>
public sealed partial class RunReducer
{
    private DebateSeat? SeatOf(Unit unit)
    {
        if (!unit.IsItem || Workflow.Steps[unit.Step].Debate is not { } debate)
        {
            return null;
        }

        var item = _run.Steps[unit.Step].Items![unit.Item];
        return item.Role == DebateRoles.Judge ? debate.Judge : debate.Participants.FirstOrDefault(p => p.Label == item.Participant);
    }

    private void StartDebate(int index)
    {
        var step = _run.Steps[index];
        var debate = Workflow.Steps[index].Debate!;
        step.Status = StepStatus.Running;
        step.StartedAt ??= _now;
        step.Items = [];
        Emit(RunEventTypes.StepStarted, step.Id, data: new
        {
            participants = debate.Participants.Select(p => p.Label).ToList(),
            rounds = debate.Rounds,
            judge = debate.Judge!.Label,
        });
        StartRound(index, 1, debate.Participants.Select(p => p.Label).ToList());
    }

    private void StartRound(int index, int round, IReadOnlyList<string> participants)
    {
        var step = _run.Steps[index];
        var items = step.Items!;
        var first = items.Count;
        foreach (var participant in participants)
        {
            items.Add(new ItemState { Index = items.Count, Round = round, Participant = participant, Role = round == 1 ? DebateRoles.Propose : DebateRoles.Revise });
        }

        // Every turn of the round is added before any is sent: a turn that fails at once (no agent) must see the whole round.
        for (var k = first; k < items.Count; k++)
        {
            if (!AcceptsStepWork || step.Status != StepStatus.Running)
            {
                return;
            }

            if (items[k].Status == StepStatus.Pending)
            {
                Dispatch(new Unit(index, k), attempt: 1);
            }
        }
    }

    /// <summary>After a turn ended: waits for the round, then asks the judge, starts the next round or ends the debate.</summary>
    private void AdvanceDebate(int index)
    {
        var step = _run.Steps[index];
        if (!AcceptsStepWork || step.Status != StepStatus.Running)
        {
            return;
        }

        var debate = Workflow.Steps[index].Debate!;
        var items = step.Items!;
        var round = items[^1].Round ?? 1;
        var turns = items.Where(item => item.Round == round).ToList();
        if (turns.Any(item => item.Status is not (StepStatus.Succeeded or StepStatus.Skipped)))
        {
            return;
        }

        var speakers = turns.Where(item => item.Role != DebateRoles.Judge && item.Status == StepStatus.Succeeded).Select(item => item.Participant!).ToList();
        var judge = turns.FirstOrDefault(item => item.Role == DebateRoles.Judge);
        if (judge is null)
        {
            if (speakers.Count == 0)
            {
                FailWholeStep(index, $"No participant of the debate answered in round {round}.");
                return;
            }

            if (round == 1 && debate.Rounds > 1)
            {
                StartRound(index, 2, speakers);
                return;
            }

            items.Add(new ItemState { Index = items.Count, Round = round, Role = DebateRoles.Judge });
            Dispatch(new Unit(index, items.Count - 1), attempt: 1);
            return;
        }

        var verdict = judge.Status == StepStatus.Succeeded ? Verdict(judge.Output) : null;
        if (round < debate.Rounds && verdict?.Consensus != true)
        {
            StartRound(index, round + 1, speakers);
            return;
        }

        FinishDebate(index, round, judge, verdict);
    }

    private void FinishDebate(int index, int rounds, ItemState judge, DebateVerdict? verdict)
    {
        var step = _run.Steps[index];
        TryRender(Workflow.Steps[index].Input, DefaultInput(index), out var topic, out _);
        var transcript = step.Items!
            .Where(item => item.Role != DebateRoles.Judge && item.Status == StepStatus.Succeeded)
            .Select(item => new { round = item.Round, participant = item.Participant, agentId = item.Current?.AgentId, text = TextOf(item.Output) })
            .ToList();
        var output = JsonSerializer.SerializeToElement(new
        {
            topic = topic.ValueKind == JsonValueKind.Undefined ? (JsonElement?)null : topic,
            rounds,
            transcript,
            scores = verdict?.Scores,
            winner = verdict?.Winner,
            decision = verdict?.Decision,
            consensus = verdict?.Consensus ?? false,
            judge = judge.Status == StepStatus.Succeeded ? judge.Current?.AgentId : null,
        }, RunJson.Options);
        _run.StoredBytes += Copies * output.GetRawText().Length;
        Succeed(index, output, metadata: null, attempt: null, new { rounds, consensus = verdict?.Consensus ?? false, winner = verdict?.Winner });
    }

    /// <summary>A turn's task: the topic, what to do in this turn, the criteria and the proposals it answers to.</summary>
    private bool TryDebateInput(Unit unit, out JsonElement input, out string error)
    {
        var definition = Workflow.Steps[unit.Step];
        var debate = definition.Debate!;
        if (!TryRender(definition.Input, DefaultInput(unit.Step), out var topic, out error))
        {
            input = default;
            return false;
        }

        var items = _run.Steps[unit.Step].Items!;
        var item = items[unit.Item];
        var round = item.Round ?? 1;
        var criteria = debate.Criteria;
        object body = item.Role switch
        {
            DebateRoles.Judge => new
            {
                topic,
                task = $"You judge round {round} of a debate between {debate.Participants.Count} participants. Score each proposal from 0 to 10 "
                    + "against the criteria, name the winner, state the decision, and say whether the participants have reached consensus.",
                criteria,
                proposals = Proposals(items, round, except: null),
                round,
                rounds = debate.Rounds,
            },
            DebateRoles.Propose => new
            {
                topic,
                task = $"You are {item.Participant}, one of {debate.Participants.Count} participants in a debate. Propose your answer to the topic.",
                criteria,
                round,
                rounds = debate.Rounds,
            },
            _ => (object)new
            {
                topic,
                task = $"Round {round} of {debate.Rounds} of a debate: you are {item.Participant}. Critique the other participants' proposals, "
                    + "then give your revised proposal.",
                criteria,
                yourProposal = Proposals(items, round - 1, except: null).FirstOrDefault(p => p.Participant == item.Participant)?.Proposal,
                proposals = Proposals(items, round - 1, except: item.Participant),
                round,
                rounds = debate.Rounds,
            },
        };

        input = JsonSerializer.SerializeToElement(body, RunJson.Options);
        var size = input.GetRawText().Length;
        if (size > _limits.MaxStepInputBytes)
        {
            error = $"The debate turn's input (topic and proposals) is {size} bytes, over the limit of {_limits.MaxStepInputBytes} bytes (Orchestration:MaxStepInputBytes).";
            return false;
        }

        return true;
    }

    private sealed record DebateProposal(string Participant, JsonElement Proposal);

    private static List<DebateProposal> Proposals(List<ItemState> items, int round, string? except) =>
        items.Where(i => i.Round == round && i.Role != DebateRoles.Judge && i.Status == StepStatus.Succeeded && i.Participant != except)
            .Select(i => new DebateProposal(i.Participant!, TextOf(i.Output)))
            .ToList();

    /// <summary>What a participant said: the text of an agent's answer (<c>text</c>, or a plain string), else its whole output.</summary>
    private static JsonElement TextOf(JsonElement? output) => output switch
    {
        { ValueKind: JsonValueKind.Object } o when o.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String => text,
        { } other => other,
        null => JsonSerializer.SerializeToElement<string?>(null),
    };

    private sealed record DebateVerdict(JsonElement? Scores, string? Winner, string? Decision, bool Consensus);

    /// <summary>
    /// The judge's answer: an object with <c>scores</c>, <c>winner</c>, <c>decision</c>, <c>consensus</c> (as the task's
    /// output schema asks), found at the top or under <c>data</c> (a hosted agent's structured answer). A judge that
    /// answered in prose gives the decision as its text, no scores, and no consensus.
    /// </summary>
    private static DebateVerdict Verdict(JsonElement? output)
    {
        JsonElement? found = null;
        if (output is { ValueKind: JsonValueKind.Object } answer)
        {
            if (answer.TryGetProperty("decision", out _) || answer.TryGetProperty("scores", out _))
            {
                found = answer;
            }
            else if (answer.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object
                && (data.TryGetProperty("decision", out _) || data.TryGetProperty("scores", out _)))
            {
                found = data;
            }
        }

        var text = TextOf(output) is { ValueKind: JsonValueKind.String } said ? said.GetString() : output?.GetRawText();
        if (found is not { } verdict)
        {
            return new DebateVerdict(null, null, text, false);
        }

        static string? String(JsonElement o, string name) => o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        var scores = verdict.TryGetProperty("scores", out var s) && s.ValueKind is JsonValueKind.Array or JsonValueKind.Object ? s.Clone() : (JsonElement?)null;
        var consensus = verdict.TryGetProperty("consensus", out var c) && c.ValueKind == JsonValueKind.True;
        return new DebateVerdict(scores, String(verdict, "winner"), String(verdict, "decision") ?? text, consensus);
    }

    /// <summary>The shape the judge is asked to answer in (sent as the task's output schema).</summary>
    private static JsonElement JudgeSchema(DebateDefinition debate)
    {
        var names = debate.Participants.Select(p => p.Label).ToArray();
        var schema = new Dictionary<string, object>
        {
            ["type"] = "object",
            ["required"] = new[] { "scores", "winner", "decision", "consensus" },
            ["properties"] = new Dictionary<string, object>
            {
                ["scores"] = new Dictionary<string, object>
                {
                    ["type"] = "array",
                    // One score per participant (a model, or the offline provider, would otherwise answer with none).
                    ["minItems"] = names.Length,
                    ["maxItems"] = names.Length,
                    ["items"] = new Dictionary<string, object>
                    {
                        ["type"] = "object",
                        ["required"] = new[] { "participant", "score" },
                        ["properties"] = new Dictionary<string, object>
                        {
                            ["participant"] = new Dictionary<string, object> { ["type"] = "string", ["enum"] = names },
                            ["score"] = new Dictionary<string, object> { ["type"] = "number", ["minimum"] = 0, ["maximum"] = 10 },
                            ["reason"] = new Dictionary<string, object> { ["type"] = "string" },
                        },
                    },
                },
                ["winner"] = new Dictionary<string, object> { ["type"] = "string", ["enum"] = names },
                ["decision"] = new Dictionary<string, object> { ["type"] = "string" },
                ["consensus"] = new Dictionary<string, object> { ["type"] = "boolean" },
            },
        };
        return JsonSerializer.SerializeToElement(schema);
    }
}
