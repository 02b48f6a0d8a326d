using System.Text.Json;
using Communication.Bus;

namespace Orchestration.Api.Model;

/// <summary>The answer of <c>GET /api/dead-letters</c>: every topic with dead letters.</summary>
public sealed record DeadLetterTopicsView(IReadOnlyList<DeadLetterTopicView> Topics);

public sealed record DeadLetterTopicView(string Topic, long Count);

/// <summary>A page of a topic's dead letters, oldest first; <see cref="Next"/> is the <c>after</c> of the next page.</summary>
public sealed record DeadLetterPageView(string Topic, long Count, IReadOnlyList<DeadLetterView> Items, string? Next);

public sealed record DeadLetterView(
    string Id,
    string Reason,
    string Detail,
    string Group,
    string Consumer,
    string OriginalEntryId,
    int DeliveryCount,
    DateTimeOffset DeadLetteredAt,
    string? MessageId,
    JsonElement? Envelope)
{
    public static DeadLetterView From(DeadLetter letter)
    {
        // The bus library renders the original envelope (payload, to and meta parsed when they are JSON).
        using var rendered = JsonDocument.Parse(letter.ToJson());
        JsonElement? envelope = rendered.RootElement.TryGetProperty("envelope", out var e) ? e.Clone() : null;
        return new DeadLetterView(letter.EntryId, letter.Reason, letter.Detail, letter.Group, letter.Consumer, letter.OriginalEntryId,
            letter.DeliveryCount, letter.DeadLetteredAt, letter.MessageId, envelope);
    }
}

public sealed record DeadLetterReplayView(string Topic, string DeadLetterId, string EntryId);
