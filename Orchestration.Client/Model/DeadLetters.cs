using System.Text.Json;

namespace Orchestration.Client;

/// <summary>A topic with dead letters (<c>GET /api/dead-letters</c>).</summary>
/// <param name="Topic">The topic.</param>
/// <param name="Count">Dead letters in <c>bus:{topic}:dlq</c>.</param>
public sealed record DeadLetterTopic(string Topic, long Count);

/// <summary>The dead-letter topics.</summary>
/// <param name="Topics">Topics with at least one dead letter, by name.</param>
public sealed record DeadLetterTopics(IReadOnlyList<DeadLetterTopic> Topics);

/// <summary>A page of one topic's dead letters, oldest first (<c>GET /api/dead-letters/{topic}</c>).</summary>
/// <param name="Topic">The topic.</param>
/// <param name="Count">Dead letters in the topic.</param>
/// <param name="Items">This page.</param>
/// <param name="Next">Pass as <c>after</c> for the next page; null on the last page.</param>
public sealed record DeadLetterPage(string Topic, long Count, IReadOnlyList<DeadLetterItem> Items, string? Next);

/// <summary>One dead letter.</summary>
/// <param name="Id">Its entry id in <c>bus:{topic}:dlq</c> (what replay takes).</param>
/// <param name="Reason">Why (for example <c>bad-signature</c>, <c>max-deliveries</c>).</param>
/// <param name="Detail">Details.</param>
/// <param name="Group">The consumer group that dead-lettered it.</param>
/// <param name="Consumer">The consumer that dead-lettered it.</param>
/// <param name="OriginalEntryId">Its entry id in <c>bus:{topic}</c>.</param>
/// <param name="DeliveryCount">Deliveries before it was dead-lettered.</param>
/// <param name="DeadLetteredAt">When.</param>
/// <param name="MessageId">The envelope's id, if it had one.</param>
/// <param name="Envelope">The original message as JSON (payload, <c>to</c> and <c>meta</c> parsed when they are JSON).</param>
public sealed record DeadLetterItem(
    string Id,
    string Reason,
    string Detail,
    string Group,
    string Consumer,
    string OriginalEntryId,
    int DeliveryCount,
    DateTimeOffset DeadLetteredAt,
    string? MessageId,
    JsonElement? Envelope);

/// <summary>The answer to a replay.</summary>
/// <param name="Topic">The topic.</param>
/// <param name="DeadLetterId">The dead letter that was replayed (now removed).</param>
/// <param name="EntryId">The new entry in <c>bus:{topic}</c>.</param>
public sealed record DeadLetterReplay(string Topic, string DeadLetterId, string EntryId);
