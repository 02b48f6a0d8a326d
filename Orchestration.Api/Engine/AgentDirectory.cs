using Orchestration.Api.Model;
using Orchestration.Api.Services;

namespace Orchestration.Api.Engine;

/// <summary>
/// The agents that may take work, as the engine sees them: the registry's active agents, cached
/// briefly so a busy engine does not read the registry on every transition.
/// </summary>
public sealed class AgentDirectory(AgentRegistry registry, TimeProvider time)
{
    private static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(1);
    private readonly SemaphoreSlim _reload = new(1, 1);
    private volatile Snapshot? _snapshot;

    private sealed record Snapshot(IReadOnlyList<AgentCandidate> Agents, DateTimeOffset LoadedAt);

    public async Task<IReadOnlyList<AgentCandidate>> GetAsync(bool fresh = false)
    {
        var snapshot = _snapshot;
        if (!fresh && snapshot is not null && time.GetUtcNow() - snapshot.LoadedAt < MaxAge)
        {
            return snapshot.Agents;
        }

        // One reload at a time: concurrent transitions share it instead of each reading the registry.
        var asked = time.GetUtcNow();
        await _reload.WaitAsync();
        try
        {
            if (_snapshot is { } loaded && loaded.LoadedAt >= asked && (fresh || asked - loaded.LoadedAt < MaxAge))
            {
                return loaded.Agents;
            }

            var agents = (await registry.ListAsync(status: AgentStatuses.Active))
                .Select(a => new AgentCandidate(a.Id, a.Topic, a.Capabilities, a.Sender))
                .ToList();
            _snapshot = new Snapshot(agents, time.GetUtcNow());
            return agents;
        }
        finally
        {
            _reload.Release();
        }
    }

    /// <summary>How old the cached view is (to decide whether a "no agent" answer deserves a fresh look).</summary>
    public TimeSpan Age => _snapshot is { } s ? time.GetUtcNow() - s.LoadedAt : TimeSpan.MaxValue;

    public void Invalidate() => _snapshot = null;
}
