using System.ComponentModel.DataAnnotations;

namespace Orchestration.Api.Model;

/// <summary>Settings of the orchestrator (configuration section <c>Orchestration</c>).</summary>
public sealed class OrchestrationOptions
{
    public const string SectionName = "Orchestration";

    /// <summary>An agent without a heartbeat for this long shows as inactive (unless it registered its own TTL).</summary>
    [Range(5, 3600)]
    public int DefaultHeartbeatTtlSeconds { get; set; } = 30;

    /// <summary>The bus topic agents send their TASK_RESULTs to.</summary>
    [Required, RegularExpression("^[A-Za-z0-9._:-]{1,200}$")]
    public string ResultsTopic { get; set; } = "orchestration.results";

    /// <summary>How long a finished run (state, events) stays in Redis.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "365.00:00:00")]
    public TimeSpan RunRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How often each replica looks for due timers.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:10")]
    public TimeSpan TimerPollInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How long a replica owns a due run while it handles it; another replica takes over after that.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan TimerLease { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>If a replica dies between storing a transition and sending its tasks, another sends them after this.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan OutboxGrace { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>The longest <c>?waitMs=</c> a client may ask for when starting a run.</summary>
    [Range(0, 600_000)]
    public int MaxWaitMs { get; set; } = 120_000;

    /// <summary>
    /// How many slots the shared keys (wakeups, run index) are spread over, so no single key carries
    /// every run on a Redis Cluster. Raise it freely; lowering it strands the wakeups of runs in the
    /// higher shards until they are raised again.
    /// </summary>
    [Range(1, 1024)]
    public int KeyShards { get; set; } = 4;

    /// <summary>The largest rendered step input (bytes); at most the bus payload limit less room for the envelope.</summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int MaxStepInputBytes { get; set; } = 256 * 1024;

    /// <summary>
    /// The most a run may store (bytes of its input, step outputs, signal data and error texts, each counted with its copy
    /// in the run's events); an output past it fails its step.
    /// </summary>
    [Range(1024, 1024L * 1024 * 1024)]
    public long MaxRunBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>The longest error text a run keeps per attempt (an agent's, a child run's, a compensation's); longer ones are cut.</summary>
    [Range(256, 1024 * 1024)]
    public int MaxErrorChars { get; set; } = 4096;

    /// <summary>The most elements a forEach step may run over; a longer array fails the step.</summary>
    [Range(1, 10_000)]
    public int MaxForEachItems { get; set; } = 100;

    /// <summary>How deep <c>workflow</c> steps may nest child runs (a run started by a client is depth 0).</summary>
    [Range(1, 32)]
    public int MaxWorkflowDepth { get; set; } = 5;

    /// <summary>Workflows stored at start-up when absent (e.g. the shipped <c>software-team</c>).</summary>
    public bool SeedWorkflows { get; set; } = true;
}
