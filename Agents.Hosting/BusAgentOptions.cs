using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Agents.Hosting;

/// <summary>
/// How one agent joins the bus: who it is for orchestration-api, which topic it reads, how often it heartbeats and how
/// many tasks it works on at once. Named options (the name is the agent id), bound from <c>Agents:&lt;id&gt;</c> and
/// validated at start-up.
/// </summary>
public sealed class BusAgentOptions
{
    /// <summary>The configuration section that holds one sub-section per agent id.</summary>
    public const string SectionName = "Agents";

    /// <summary>The agent id (the registry's rule: a letter or digit, then up to 99 letters, digits, '.', '_' or '-').</summary>
    [Required, RegularExpression("^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
    public string Id { get; set; } = "";

    /// <summary>The display name; the <see cref="Microsoft.Agents.AI.AIAgent.Name"/> or the id when empty.</summary>
    public string? Name { get; set; }

    /// <summary>What the agent can do; steps may name a capability instead of the agent. At least one.</summary>
    [MinLength(1)]
    public List<string> Capabilities { get; set; } = [];

    /// <summary>The bus topic the agent consumes; <c>agent.&lt;id&gt;</c> when empty.</summary>
    public string? Topic { get; set; }

    /// <summary>Free-form metadata sent with the registration (for example <c>kind</c>).</summary>
    public Dictionary<string, string> Metadata { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Whether to register and heartbeat with orchestration-api. Off: the agent takes tasks but is not listed.</summary>
    public bool Register { get; set; } = true;

    /// <summary>How often the agent heartbeats (and registers again when the service has forgotten it).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long orchestration-api keeps the agent active without a heartbeat.</summary>
    [Range(5, 3600)]
    public int HeartbeatTtlSeconds { get; set; } = 30;

    /// <summary>Tasks this process works on at once.</summary>
    [Range(1, 256)]
    public int Concurrency { get; set; } = 4;

    /// <summary>
    /// How long a task may sit with a consumer that stopped before another takes it; <c>Bus:Subscription:ClaimIdleTime</c>
    /// when null. Longer than the agent's slowest answer, or a slow answer is worked on twice.
    /// </summary>
    public TimeSpan? ClaimIdleTime { get; set; }

    /// <summary>
    /// The system instructions added to a compensation task (a later step failed: undo this agent's earlier work, given
    /// as the task's input). English by default.
    /// </summary>
    [Required]
    public string CompensationInstructions { get; set; } = DefaultCompensationInstructions;

    /// <summary>
    /// Whether a failure of the agent may pass on another attempt (the result's <c>retryable</c>). Default: every
    /// failure is retryable; an agent that knows a request will be refused again says so here.
    /// </summary>
    public Func<Exception, bool> IsRetryable { get; set; } = static _ => true;

    /// <summary>The default of <see cref="CompensationInstructions"/>.</summary>
    public const string DefaultCompensationInstructions =
        "This is a compensation task: a later step of the workflow failed. Describe, step by step, how to undo your earlier work given in the input.";

    /// <summary>The topic the agent reads: <see cref="Topic"/>, or <c>agent.&lt;id&gt;</c>.</summary>
    public string EffectiveTopic => string.IsNullOrWhiteSpace(Topic) ? $"agent.{Id}" : Topic;
}

/// <summary>Checks a named <see cref="BusAgentOptions"/>; messages name the configuration key at fault.</summary>
internal sealed class BusAgentOptionsValidator : IValidateOptions<BusAgentOptions>
{
    public ValidateOptionsResult Validate(string? name, BusAgentOptions options)
    {
        var prefix = $"{BusAgentOptions.SectionName}:{name}";
        var failures = new List<string>();
        var context = new ValidationContext(options);
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(options, context, results, validateAllProperties: true))
        {
            failures.AddRange(results.Select(r => $"{prefix}:{string.Join(",", r.MemberNames)}: {r.ErrorMessage}"));
        }

        if (!string.Equals(options.Id, name, StringComparison.Ordinal))
        {
            failures.Add($"{prefix}:Id must be the agent's name '{name}' (it is '{options.Id}').");
        }

        if (options.Capabilities.Any(string.IsNullOrWhiteSpace))
        {
            failures.Add($"{prefix}:Capabilities may not hold an empty capability.");
        }

        if (options.ClaimIdleTime is { } idle && (idle < TimeSpan.FromSeconds(1) || idle > TimeSpan.FromHours(24)))
        {
            failures.Add($"{prefix}:ClaimIdleTime must be between 00:00:01 and 1.00:00:00.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
