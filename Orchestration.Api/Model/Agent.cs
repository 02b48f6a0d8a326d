namespace Orchestration.Api.Model;

public sealed record Agent(
    string Id,
    string Name,
    IReadOnlyList<string> Capabilities,
    string? Topic,
    IReadOnlyDictionary<string, string>? Metadata,
    string Status,
    DateTimeOffset RegisteredAt,
    DateTimeOffset LastHeartbeatAt);
