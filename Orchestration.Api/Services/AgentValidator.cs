using System.Text.RegularExpressions;
using Orchestration.Api.Model;

namespace Orchestration.Api.Services;

public static partial class AgentValidator
{
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
    public static partial Regex AgentId();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    public static partial Regex Capability();

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,200}$")]
    private static partial Regex Topic();

    /// <summary>Topics an agent may not take (issue 9): the results topic, reply topics and the orchestrator's own namespace.</summary>
    public static bool IsReserved(string topic, string resultsTopic) =>
        string.Equals(topic, resultsTopic, StringComparison.OrdinalIgnoreCase)
        || topic.StartsWith("reply.", StringComparison.OrdinalIgnoreCase)
        || topic.StartsWith("orchestration.", StringComparison.OrdinalIgnoreCase);

    public static Dictionary<string, string[]> Validate(AgentRegistration agent, string? reservedTopic = null)
    {
        var errors = new Dictionary<string, string[]>();
        if (!AgentId().IsMatch(agent.Id))
        {
            errors["id"] = ["Use 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit."];
        }

        if (string.IsNullOrWhiteSpace(agent.Name) || agent.Name.Length > 200)
        {
            errors["name"] = ["A name of 1-200 characters is required."];
        }

        if (agent.Capabilities.Count > 50)
        {
            errors["capabilities"] = ["At most 50 capabilities."];
        }

        for (var i = 0; i < agent.Capabilities.Count; i++)
        {
            if (!Capability().IsMatch(agent.Capabilities[i] ?? ""))
            {
                errors[$"capabilities[{i}]"] = ["Use 1-64 letters, digits, '.', '_' or '-'."];
            }
        }

        if (agent.Topic is not null && !Topic().IsMatch(agent.Topic))
        {
            errors["topic"] = ["A bus topic: 1-200 letters, digits, '.', '_', ':' or '-'."];
        }

        else if (agent.Topic is not null && reservedTopic is not null && IsReserved(agent.Topic, reservedTopic))
        {
            errors["topic"] = [$"'{agent.Topic}' is reserved: the services consume '{reservedTopic}', 'reply.*' and 'orchestration.*' themselves."];
        }

        if (agent.Sender is not null && !Topic().IsMatch(agent.Sender))
        {
            errors["sender"] = ["A bus sender name: 1-200 letters, digits, '.', '_', ':' or '-'."];
        }

        if (agent.Metadata is { } metadata && (metadata.Count > 50 || metadata.Any(m => m.Key.Length > 100 || m.Value is null || m.Value.Length > 2000)))
        {
            errors["metadata"] = ["At most 50 entries; keys up to 100 and values up to 2000 characters."];
        }

        if (agent.HeartbeatTtlSeconds is < 5 or > 3600)
        {
            errors["heartbeatTtlSeconds"] = ["Must be between 5 and 3600."];
        }

        if (agent.Status is not null && !AgentStatuses.Declarable.Contains(agent.Status))
        {
            errors["status"] = [$"One of: {string.Join(", ", AgentStatuses.Declarable)}."];
        }

        return errors;
    }
}
