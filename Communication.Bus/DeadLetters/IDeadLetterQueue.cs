namespace Communication.Bus;

/// <summary>Lists and replays the dead-letter stream <c>bus:{topic}:dlq</c> of a topic.</summary>
public interface IDeadLetterQueue
{
    /// <summary>Lists dead letters oldest first.</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="count">The most entries to return.</param>
    /// <param name="after">Only entries after this dead-letter entry id (for paging); from the start when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task<IReadOnlyList<DeadLetter>> ListAsync(string topic, int count = 100, string? after = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// The topics whose dead-letter stream exists (<c>bus:{topic}:dlq</c>), by name. Found with <c>SCAN</c> on every
    /// primary (so it works on Redis Cluster too); it costs a pass over the key space, so call it for an overview, not
    /// per message.
    /// </summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task<IReadOnlyList<string>> ListTopicsAsync(CancellationToken cancellationToken = default);

    /// <summary>The number of entries in the dead-letter stream of <paramref name="topic"/>.</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task<long> CountAsync(string topic, CancellationToken cancellationToken = default);

    /// <summary>
    /// Re-appends the original, still-signed fields of a dead letter to <c>bus:{topic}</c> for the consumer group that
    /// dead-lettered it (other groups skip the copy), marks that copy as this group's accepted entry for the message id
    /// (so it is neither <c>replayed</c> nor <c>stale-timestamp</c>), and deletes the dead letter — atomically. The
    /// signature is not renewed: a message that fails verification is dead-lettered again.
    /// </summary>
    /// <param name="topic">The topic.</param>
    /// <param name="deadLetterEntryId">The dead letter's entry id (<see cref="DeadLetter.EntryId"/>).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The new stream entry id.</returns>
    /// <exception cref="KeyNotFoundException">No such dead letter.</exception>
    Task<string> ReplayAsync(string topic, string deadLetterEntryId, CancellationToken cancellationToken = default);
}

/// <summary>An entry of a dead-letter stream.</summary>
/// <param name="EntryId">The dead letter's entry id in <c>bus:{topic}:dlq</c>.</param>
/// <param name="Topic">The topic.</param>
/// <param name="Reason">Why (see <see cref="RejectionReasons"/>).</param>
/// <param name="Detail">Human-readable details (validation errors, the handler's exception).</param>
/// <param name="Group">The consumer group that dead-lettered it.</param>
/// <param name="Consumer">The consumer that dead-lettered it.</param>
/// <param name="OriginalEntryId">The entry id in <c>bus:{topic}</c>.</param>
/// <param name="DeliveryCount">The delivery count when it was dead-lettered.</param>
/// <param name="DeadLetteredAt">When.</param>
/// <param name="MessageId">The envelope's <c>id</c> field as received (may be invalid), or <see langword="null"/>.</param>
/// <param name="Fields">The original stream entry's fields, verbatim and in order.</param>
public sealed record DeadLetter(
    string EntryId,
    string Topic,
    string Reason,
    string Detail,
    string Group,
    string Consumer,
    string OriginalEntryId,
    int DeliveryCount,
    DateTimeOffset DeadLetteredAt,
    string? MessageId,
    IReadOnlyList<KeyValuePair<string, string>> Fields)
{
    /// <summary>
    /// Renders the dead letter as JSON: its metadata and the envelope (payload, <c>to</c> and <c>meta</c> as JSON values
    /// when they parse, else as strings).
    /// </summary>
    public string ToJson() => EnvelopeJson.Render(this);
}
