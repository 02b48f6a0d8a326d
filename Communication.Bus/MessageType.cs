namespace Communication.Bus;

/// <summary>The kind of a bus message (the envelope's <c>type</c> field).</summary>
public enum MessageType
{
    /// <summary>A unit of work for an agent (<c>TASK</c>).</summary>
    Task,

    /// <summary>The result of a task (<c>TASK_RESULT</c>).</summary>
    TaskResult,

    /// <summary>A notification that something happened (<c>EVENT</c>).</summary>
    Event,

    /// <summary>A request to run a tool (<c>TOOL_CALL</c>).</summary>
    ToolCall,

    /// <summary>A proposal in a debate (<c>DEBATE_PROPOSAL</c>).</summary>
    DebateProposal,

    /// <summary>A critique of a proposal (<c>DEBATE_CRITIQUE</c>).</summary>
    DebateCritique,

    /// <summary>The decision that closes a debate (<c>DEBATE_DECISION</c>).</summary>
    DebateDecision,
}

/// <summary>The delivery guarantee a message asks for (the envelope's <c>qos</c> field).</summary>
public enum QualityOfService
{
    /// <summary>Acknowledged before the handler runs: a failed or crashed handler loses the message (<c>at-most-once</c>).</summary>
    AtMostOnce,

    /// <summary>Acknowledged after the handler succeeds; redelivered otherwise (<c>at-least-once</c>, the default).</summary>
    AtLeastOnce,

    /// <summary>
    /// At-least-once plus an idempotency record per consumer group and message id, checked before and written
    /// after the handler, so a handler that completed is not run again for a redelivery (<c>exactly-once</c>).
    /// </summary>
    ExactlyOnce,
}
