using System.Diagnostics.CodeAnalysis;

namespace Communication.Bus;

/// <summary>
/// Names and rules of the bus wire protocol v1 (see <c>docs/PROTOCOL.md</c>): stream keys, field names and the
/// wire spellings of <see cref="MessageType"/> and <see cref="QualityOfService"/>.
/// </summary>
public static class BusProtocol
{
    /// <summary>The protocol version written in every entry's <c>v</c> field.</summary>
    public const string Version = "1";

    /// <summary>The longest topic name accepted.</summary>
    public const int MaxTopicLength = 200;

    /// <summary>Names of the flat fields of a stream entry.</summary>
    public static class Fields
    {
        /// <summary>Protocol version (<c>"1"</c>).</summary>
        public const string Version = "v";

        /// <summary>Message id (UUID).</summary>
        public const string Id = "id";

        /// <summary>Creation time, unix milliseconds.</summary>
        public const string Timestamp = "ts";

        /// <summary>Message type (<c>TASK</c>, ...).</summary>
        public const string Type = "type";

        /// <summary>Quality of service.</summary>
        public const string Qos = "qos";

        /// <summary>Topic (must match the stream).</summary>
        public const string Topic = "topic";

        /// <summary>Sender.</summary>
        public const string From = "from";

        /// <summary>Recipients, JSON text: a string or an array of strings.</summary>
        public const string To = "to";

        /// <summary>Correlation id (empty when absent).</summary>
        public const string CorrelationId = "correlationId";

        /// <summary>Reply topic (empty when absent).</summary>
        public const string ReplyTo = "replyTo";

        /// <summary>JSON object of strings; carries <c>traceparent</c>/<c>tracestate</c>. Not signed.</summary>
        public const string Meta = "meta";

        /// <summary>The payload's JSON text; its exact bytes are signed.</summary>
        public const string Payload = "payload";

        /// <summary>Id of the first signing key.</summary>
        public const string KeyId = "keyId";

        /// <summary>Space-separated <c>keyId:base64(HMAC-SHA256)</c> entries.</summary>
        public const string Signature = "sig";

        /// <summary>
        /// Transport-only field (not part of the envelope, not signed) written by a dead-letter replay: only the named
        /// consumer group handles the entry; other groups acknowledge and skip it.
        /// </summary>
        public const string ReplayGroup = "replayGroup";
    }

    /// <summary>The stream key of a topic: <c>bus:{topic}</c> (the braces are a Redis Cluster hash tag).</summary>
    /// <param name="topic">A valid topic name.</param>
    public static string StreamKey(string topic) => "bus:{" + RequireTopic(topic) + "}";

    /// <summary>The dead-letter stream key of a topic: <c>bus:{topic}:dlq</c>.</summary>
    /// <param name="topic">A valid topic name.</param>
    public static string DeadLetterStreamKey(string topic) => "bus:{" + RequireTopic(topic) + "}:dlq";

    /// <summary>The replay-protection key of a message for a consumer group: <c>bus:{topic}:seen:&lt;group&gt;:&lt;id&gt;</c>.</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="group">The consumer group.</param>
    /// <param name="messageId">The message id (lower-cased).</param>
    public static string SeenKey(string topic, string group, string messageId) => "bus:{" + topic + "}:seen:" + group + ":" + messageId;

    /// <summary>
    /// The idempotent-publish marker of a caller-chosen message id: <c>bus:{topic}:published:&lt;id&gt;</c>, holding the
    /// stream entry id the first publish created.
    /// </summary>
    /// <param name="topic">The topic.</param>
    /// <param name="messageId">The message id.</param>
    public static string PublishedKey(string topic, string messageId) => "bus:{" + topic + "}:published:" + messageId;

    /// <summary>The exactly-once completion key of a message for a consumer group: <c>bus:{topic}:done:&lt;group&gt;:&lt;id&gt;</c>.</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="group">The consumer group.</param>
    /// <param name="messageId">The message id (lower-cased).</param>
    public static string DoneKey(string topic, string group, string messageId) => "bus:{" + topic + "}:done:" + group + ":" + messageId;

    /// <summary>The milliseconds part of a stream entry id (<c>1700000000000-0</c>): when Redis added the entry.</summary>
    internal static bool TryGetEntryMilliseconds(string? entryId, out long milliseconds)
    {
        milliseconds = 0;
        var dash = entryId?.IndexOf('-', StringComparison.Ordinal) ?? -1;
        return dash > 0 && long.TryParse(entryId.AsSpan(0, dash), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out milliseconds);
    }

    /// <summary>The pub/sub channel a publisher pokes after <c>XADD</c> to wake idle consumers: <c>bus:{topic}:notify</c>.</summary>
    /// <param name="topic">The topic.</param>
    public static string NotifyChannel(string topic) => "bus:{" + topic + "}:notify";

    /// <summary>Whether <paramref name="name"/> is a valid topic or consumer group name: <c>^[A-Za-z0-9._:-]{1,200}$</c>.</summary>
    /// <param name="name">The name to check.</param>
    public static bool IsValidName([NotNullWhen(true)] string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxTopicLength)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or ':' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The wire spelling of a message type, e.g. <c>TASK_RESULT</c>.</summary>
    /// <param name="type">The message type.</param>
    public static string ToWireName(this MessageType type) => type switch
    {
        MessageType.Task => "TASK",
        MessageType.TaskResult => "TASK_RESULT",
        MessageType.Event => "EVENT",
        MessageType.ToolCall => "TOOL_CALL",
        MessageType.DebateProposal => "DEBATE_PROPOSAL",
        MessageType.DebateCritique => "DEBATE_CRITIQUE",
        MessageType.DebateDecision => "DEBATE_DECISION",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown message type."),
    };

    /// <summary>The wire spelling of a quality of service, e.g. <c>at-least-once</c>.</summary>
    /// <param name="qos">The quality of service.</param>
    public static string ToWireName(this QualityOfService qos) => qos switch
    {
        QualityOfService.AtMostOnce => "at-most-once",
        QualityOfService.AtLeastOnce => "at-least-once",
        QualityOfService.ExactlyOnce => "exactly-once",
        _ => throw new ArgumentOutOfRangeException(nameof(qos), qos, "Unknown quality of service."),
    };

    /// <summary>Parses a wire message type (case-sensitive).</summary>
    /// <param name="value">The wire spelling.</param>
    /// <param name="type">The parsed type.</param>
    public static bool TryParseMessageType(string? value, out MessageType type)
    {
        switch (value)
        {
            case "TASK": type = MessageType.Task; return true;
            case "TASK_RESULT": type = MessageType.TaskResult; return true;
            case "EVENT": type = MessageType.Event; return true;
            case "TOOL_CALL": type = MessageType.ToolCall; return true;
            case "DEBATE_PROPOSAL": type = MessageType.DebateProposal; return true;
            case "DEBATE_CRITIQUE": type = MessageType.DebateCritique; return true;
            case "DEBATE_DECISION": type = MessageType.DebateDecision; return true;
            default: type = default; return false;
        }
    }

    /// <summary>Parses a wire quality of service (case-sensitive).</summary>
    /// <param name="value">The wire spelling.</param>
    /// <param name="qos">The parsed value.</param>
    public static bool TryParseQualityOfService(string? value, out QualityOfService qos)
    {
        switch (value)
        {
            case "at-most-once": qos = QualityOfService.AtMostOnce; return true;
            case "at-least-once": qos = QualityOfService.AtLeastOnce; return true;
            case "exactly-once": qos = QualityOfService.ExactlyOnce; return true;
            default: qos = default; return false;
        }
    }

    private static string RequireTopic(string topic) =>
        IsValidName(topic) ? topic : throw new ArgumentException($"Invalid topic '{topic}': it must match ^[A-Za-z0-9._:-]{{1,200}}$.", nameof(topic));
}
