using System.ComponentModel.DataAnnotations;

namespace OutsideAgent;

/// <summary>The agent's own settings (section <c>Agent</c>).</summary>
public sealed class OutsideAgentOptions
{
    public const string SectionName = "Agent";

    /// <summary>The agent id; it consumes <c>agent.&lt;id&gt;</c>.</summary>
    [Required, RegularExpression("^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
    public string Id { get; set; } = "";

    [Required, MinLength(1)]
    public List<string> Capabilities { get; set; } = [];

    /// <summary>How long each task takes.</summary>
    public TimeSpan WorkTime { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// After answering this many tasks, take every further task and never answer it (a process that dies holding
    /// tasks: the chaos test kills it then). Null: answer every task.
    /// </summary>
    [Range(0, int.MaxValue)]
    public int? AnswerLimit { get; set; }

    /// <summary>A file the agent appends one line to per task event (<c>received|answered|held pid runId stepId attempt</c>), for the test's counts.</summary>
    public string? Ledger { get; set; }

    [Range(1, 3600)]
    public int HeartbeatTtlSeconds { get; set; } = 30;

    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(10);
}
