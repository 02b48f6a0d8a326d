using System.Text.Json;
using System.Text.RegularExpressions;
using Orchestration.Api.Model;

namespace Orchestration.Api.Services;

/// <summary>Checks a workflow definition and a run's input; errors are keyed by field path.</summary>
public static partial class WorkflowValidator
{
    public const long MinTimeoutMs = 100;
    public const long MaxTimeoutMs = 86_400_000;
    public const int MaxSteps = 100;
    public const int MaxAttemptsLimit = 20;
    public const long MaxBackoffMs = 3_600_000;

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
    public static partial Regex WorkflowId();

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex StepId();

    public static Dictionary<string, string[]> Validate(WorkflowDefinition workflow, int maxStepInputBytes = int.MaxValue)
    {
        var errors = new Errors();
        if (!WorkflowId().IsMatch(workflow.Id))
        {
            errors.Add("id", "Use 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit.");
        }

        if (workflow.TimeoutMs is < 1000 or > MaxTimeoutMs)
        {
            errors.Add("timeoutMs", $"Must be between 1000 and {MaxTimeoutMs}.");
        }

        if (workflow.Steps.Count == 0)
        {
            errors.Add("steps", "A workflow needs at least one step.");
        }
        else if (workflow.Steps.Count > MaxSteps)
        {
            errors.Add("steps", $"At most {MaxSteps} steps.");
        }

        if (workflow.MaxParallelism is < 0 or > MaxSteps)
        {
            errors.Add("maxParallelism", $"Must be between 0 (no limit) and {MaxSteps}.");
        }

        var earlier = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < workflow.Steps.Count; i++)
        {
            var step = workflow.Steps[i];
            if (step is null)
            {
                errors.Add($"steps[{i}]", "A step may not be null.");
                continue;
            }

            if (!string.IsNullOrEmpty(step.Id) && !earlier.Add(step.Id))
            {
                errors.Add($"steps[{i}].id", $"'{step.Id}' is used by an earlier step; step ids must be unique.");
            }
        }

        if (errors.Count > 0)
        {
            return errors.ToDictionary();
        }

        var graph = WorkflowGraph.Of(workflow);
        for (var i = 0; i < workflow.Steps.Count; i++)
        {
            var step = workflow.Steps[i];
            for (var d = 0; d < (step.DependsOn?.Count ?? 0); d++)
            {
                if (step.DependsOn![d] is null || !graph.Index.ContainsKey(step.DependsOn[d]))
                {
                    errors.Add($"steps[{i}].dependsOn[{d}]", $"'{step.DependsOn[d]}' is not a step of this workflow.");
                }
                else if (step.DependsOn[d] == step.Id)
                {
                    errors.Add($"steps[{i}].dependsOn[{d}]", "A step cannot depend on itself.");
                }
            }
        }

        if (graph.Cycle is { } cycle)
        {
            errors.Add($"steps[{cycle}].dependsOn", $"Step '{workflow.Steps[cycle].Id}' is on a dependency cycle.");
        }

        if (errors.Count > 0)
        {
            return errors.ToDictionary();
        }

        for (var i = 0; i < workflow.Steps.Count; i++)
        {
            var ancestors = graph.Ancestors[i].Select(a => workflow.Steps[a].Id).ToHashSet(StringComparer.Ordinal);
            ValidateStep(workflow.Steps[i], $"steps[{i}]", workflow, ancestors, maxStepInputBytes, errors);
        }

        return errors.ToDictionary();
    }

    /// <summary>Every <c>{{input.…}}</c> path the steps use must exist in the run input.</summary>
    public static Dictionary<string, string[]> ValidateInput(WorkflowDefinition workflow, JsonElement input)
    {
        var errors = new Errors();
        if (input.ValueKind != JsonValueKind.Object)
        {
            errors.Add("input", "The run input must be a JSON object.");
            return errors.ToDictionary();
        }

        var noOutputs = new Dictionary<string, JsonElement?>();
        foreach (var step in workflow.Steps)
        {
            foreach (var reference in StepTemplates.References(step.Input).Concat(StepTemplates.References(step.Compensate?.Input)))
            {
                if (reference.Root == "input" && StepTemplates.Resolve(reference, input, noOutputs) is null)
                {
                    errors.Add(string.Join('.', ["input", .. reference.Segments]), $"Required by step '{step.Id}' ({reference.Text}).");
                }
            }
        }

        return errors.ToDictionary();
    }

    public const int MaxDebateParticipants = 8;
    public const int MaxDebateRounds = 5;

    private static void ValidateDebate(DebateDefinition? debate, string path, Errors errors)
    {
        if (debate is null)
        {
            errors.Add(path, "A debate step needs 'debate': participants (2-8), rounds (1-5) and a judge.");
            return;
        }

        if (debate.Participants is not { Count: >= 2 and <= MaxDebateParticipants })
        {
            errors.Add($"{path}.participants", $"Between 2 and {MaxDebateParticipants} participants, each an agent or a capability.");
        }

        var labels = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < (debate.Participants?.Count ?? 0); i++)
        {
            var seat = debate.Participants![i];
            if (seat is null)
            {
                errors.Add($"{path}.participants[{i}]", "A participant: { \"agent\": … } or { \"capability\": … }, with an optional \"name\".");
                continue;
            }

            ValidateSeat(seat, $"{path}.participants[{i}]", errors);
            if (seat.Label.Length > 0 && !labels.Add(seat.Label))
            {
                errors.Add($"{path}.participants[{i}].name", $"Another participant is also called '{seat.Label}'; give each a distinct 'name'.");
            }
        }

        if (debate.Rounds is < 1 or > MaxDebateRounds)
        {
            errors.Add($"{path}.rounds", $"Between 1 and {MaxDebateRounds}.");
        }

        if (debate.Judge is null)
        {
            errors.Add($"{path}.judge", "The agent or capability that scores the proposals and decides.");
        }
        else
        {
            ValidateSeat(debate.Judge, $"{path}.judge", errors);
        }

        if (debate.Criteria is { Count: > 10 })
        {
            errors.Add($"{path}.criteria", "At most 10 criteria.");
        }

        for (var i = 0; i < (debate.Criteria?.Count ?? 0); i++)
        {
            if (debate.Criteria![i] is not { Length: >= 1 and <= 200 })
            {
                errors.Add($"{path}.criteria[{i}]", "A criterion of 1-200 characters.");
            }
        }
    }

    private static void ValidateSeat(DebateSeat seat, string path, Errors errors)
    {
        var hasAgent = !string.IsNullOrWhiteSpace(seat.Agent);
        var hasCapability = !string.IsNullOrWhiteSpace(seat.Capability);
        if (hasAgent == hasCapability)
        {
            errors.Add($"{path}.agent", "Set exactly one of 'agent' or 'capability'.");
        }
        else if (hasAgent && !AgentValidator.AgentId().IsMatch(seat.Agent!))
        {
            errors.Add($"{path}.agent", "An agent id as the registry accepts it: 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit.");
        }
        else if (hasCapability && !AgentValidator.Capability().IsMatch(seat.Capability!))
        {
            errors.Add($"{path}.capability", "A capability as the registry accepts it: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.");
        }

        if (seat.Name is not null && !StepId().IsMatch(seat.Name))
        {
            errors.Add($"{path}.name", "Use 1-64 letters, digits, '_' or '-'.");
        }
    }

    private static void ValidateStep(StepDefinition step, string path, WorkflowDefinition workflow, HashSet<string> earlier, int maxStepInputBytes, Errors errors)
    {
        if (!StepId().IsMatch(step.Id))
        {
            errors.Add($"{path}.id", "Use 1-64 letters, digits, '_' or '-'.");
        }

        var hasAgent = !string.IsNullOrWhiteSpace(step.Agent);
        var hasCapability = !string.IsNullOrWhiteSpace(step.Capability);
        if (step.Type == StepType.Approval)
        {
            if (hasAgent || hasCapability || step.Input is not null)
            {
                errors.Add($"{path}.type", "An approval step waits for a signal: it takes no 'agent', 'capability' or 'input'.");
            }

            if (step.Signal is not null && !StepId().IsMatch(step.Signal))
            {
                errors.Add($"{path}.signal", "Use 1-64 letters, digits, '_' or '-'.");
            }
        }
        else if (step.Type == StepType.Workflow)
        {
            if (hasAgent || hasCapability)
            {
                errors.Add($"{path}.type", "A workflow step starts a child run of 'workflow': it takes no 'agent' or 'capability'.");
            }

            if (string.IsNullOrEmpty(step.Workflow) || !WorkflowId().IsMatch(step.Workflow))
            {
                errors.Add($"{path}.workflow", "The id of the workflow to run as a child: 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit.");
            }
            else if (step.Workflow == workflow.Id)
            {
                errors.Add($"{path}.workflow", $"A workflow cannot start itself as a child run ('{workflow.Id}' would recurse without end).");
            }

            if (step.WorkflowVersion is < 1)
            {
                errors.Add($"{path}.workflowVersion", "A version number, from 1 (absent: the newest when the child starts).");
            }
        }
        else if (step.Type == StepType.Debate)
        {
            if (hasAgent || hasCapability)
            {
                errors.Add($"{path}.type", "A debate step's agents are its participants and judge: it takes no 'agent' or 'capability'.");
            }

            ValidateDebate(step.Debate, $"{path}.debate", errors);
        }
        else if (hasAgent == hasCapability)
        {
            errors.Add($"{path}.agent", "Set exactly one of 'agent' or 'capability'.");
        }
        else if (hasAgent && !AgentValidator.AgentId().IsMatch(step.Agent!))
        {
            errors.Add($"{path}.agent", "An agent id as the registry accepts it: 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit.");
        }
        else if (hasCapability && !AgentValidator.Capability().IsMatch(step.Capability!))
        {
            errors.Add($"{path}.capability", "A capability as the registry accepts it: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.");
        }

        if (step.Type != StepType.Approval && step.Signal is not null)
        {
            errors.Add($"{path}.signal", "Only approval steps wait for a signal.");
        }

        if (step.Type != StepType.Debate && step.Debate is not null)
        {
            errors.Add($"{path}.debate", "Only steps of type 'debate' hold a debate; set \"type\": \"debate\".");
        }

        if (step.Type == StepType.Debate && step.ForEach is not null)
        {
            errors.Add($"{path}.forEach", "A debate step cannot run forEach.");
        }

        if (step.Type != StepType.Workflow && (step.Workflow is not null || step.WorkflowVersion is not null))
        {
            errors.Add($"{path}.workflow", "Only steps of type 'workflow' start a child run; set \"type\": \"workflow\".");
        }

        if (step.When is { } when)
        {
            if (!Condition.TryParse(when, out var condition, out var conditionError))
            {
                errors.Add($"{path}.when", conditionError!);
            }
            else
            {
                CheckReferences(condition!.References, $"{path}.when", earlier, errors);
            }
        }

        if (step.ForEach is { } forEach)
        {
            var references = StepTemplates.References(System.Text.Json.JsonSerializer.SerializeToElement(forEach.Items ?? "")).ToList();
            if (step.Type == StepType.Approval)
            {
                errors.Add($"{path}.forEach", "An approval step cannot run forEach.");
            }
            else if (references.Count != 1 || references[0].Text != forEach.Items?.Trim() || references[0].Root is "item" or "itemIndex")
            {
                errors.Add($"{path}.forEach.items", "Exactly one placeholder naming an array: {{input.<path>}} or {{steps.<id>.output[.<path>]}}.");
            }
            else
            {
                CheckReferences(references, $"{path}.forEach.items", earlier, errors);
            }

            if (forEach.MaxConcurrency is < 0 or > MaxSteps)
            {
                errors.Add($"{path}.forEach.maxConcurrency", $"Must be between 0 (all at once) and {MaxSteps}.");
            }
        }

        if (StepTemplates.LiteralSize(step.Input) > maxStepInputBytes)
        {
            errors.Add($"{path}.input", $"The template's own text is over the limit of {maxStepInputBytes} bytes for a rendered input (Orchestration:MaxStepInputBytes).");
        }

        if (step.MaxAttempts is < 1 or > MaxAttemptsLimit)
        {
            errors.Add($"{path}.maxAttempts", $"Must be between 1 and {MaxAttemptsLimit}.");
        }

        if (step.TimeoutMs < MinTimeoutMs || step.TimeoutMs > workflow.TimeoutMs)
        {
            errors.Add($"{path}.timeoutMs", $"Must be between {MinTimeoutMs} and the workflow's timeoutMs ({workflow.TimeoutMs}).");
        }

        if (step.Backoff is null)
        {
            errors.Add($"{path}.backoff", "May not be null.");
        }
        else if (step.Backoff.BaseMs is < 0 or > MaxBackoffMs)
        {
            errors.Add($"{path}.backoff.baseMs", $"Must be between 0 and {MaxBackoffMs}.");
        }
        else if (step.Backoff.MaxMs < step.Backoff.BaseMs || step.Backoff.MaxMs > MaxBackoffMs)
        {
            errors.Add($"{path}.backoff.maxMs", $"Must be at least baseMs and at most {MaxBackoffMs}.");
        }

        ValidateTemplate(step.Input, $"{path}.input", earlier, errors, allowItem: step.ForEach is not null);

        if (step.Compensate is { } compensate)
        {
            if (string.IsNullOrWhiteSpace(compensate.Agent))
            {
                errors.Add($"{path}.compensate.agent", "A compensation must name the agent that runs it.");
            }
            else if (!AgentValidator.AgentId().IsMatch(compensate.Agent))
            {
                errors.Add($"{path}.compensate.agent", "An agent id: 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit.");
            }

            if (StepTemplates.LiteralSize(compensate.Input) > maxStepInputBytes)
            {
                errors.Add($"{path}.compensate.input", $"The template's own text is over the limit of {maxStepInputBytes} bytes (Orchestration:MaxStepInputBytes).");
            }

            ValidateTemplate(compensate.Input, $"{path}.compensate.input", [.. earlier, step.Id], errors);
        }
    }

    private static void ValidateTemplate(JsonElement? template, string path, HashSet<string> visibleSteps, Errors errors, bool allowItem = false) =>
        CheckReferences(StepTemplates.References(template), path, visibleSteps, errors, allowItem);

    private static void CheckReferences(IEnumerable<StepTemplates.Reference> references, string path, HashSet<string> visibleSteps, Errors errors, bool allowItem = false)
    {
        foreach (var reference in references)
        {
            switch (reference.Root)
            {
                case "input":
                    break;
                case "item" when allowItem:
                case "itemIndex" when allowItem && reference.Segments.Count == 0:
                    break;
                case "steps" when reference.Segments.Count >= 2 && reference.Segments[1] == "output":
                    if (!visibleSteps.Contains(reference.Segments[0]))
                    {
                        errors.Add(path, $"{reference.Text} refers to '{reference.Segments[0]}', which is not a step this one depends on (directly or through others).");
                    }

                    break;
                default:
                    errors.Add(path, $"{reference.Text} must start with 'input' or 'steps.<id>.output'.");
                    break;
            }
        }
    }

    private sealed class Errors
    {
        private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);

        public int Count => _errors.Count;

        public void Add(string path, string message)
        {
            if (!_errors.TryGetValue(path, out var list))
            {
                _errors[path] = list = [];
            }

            list.Add(message);
        }

        public Dictionary<string, string[]> ToDictionary() => _errors.ToDictionary(e => e.Key, e => e.Value.ToArray());
    }
}
