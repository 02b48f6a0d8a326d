using Communication.Bus;
using Communication.Bus.Contracts;
using StackExchange.Redis;
using TestSupport;

namespace Orchestration.Api.Tests.Integration;

/// <summary>
/// Base of the in-process integration tests: each test gets an empty redis-server of its own, the real service
/// (<see cref="ServiceFactory{TProgram}"/>, Kestrel) with short engine timings, and fake agents on the real bus.
/// </summary>
public abstract class IntegrationTest : IAsyncLifetime
{
    /// <summary>Engine timings short enough for tests (the defaults are tuned for production).</summary>
    public static Dictionary<string, string?> FastTimings() => new()
    {
        ["Orchestration:TimerPollInterval"] = "00:00:00.050",
        ["Orchestration:OutboxGrace"] = "00:00:01",
        ["Orchestration:TimerLease"] = "00:00:05",
    };

    private readonly List<FakeAgent> _agents = [];

    protected ITestRedis Redis { get; private set; } = null!;

    protected ConnectionMultiplexer RedisClient { get; private set; } = null!;

    protected ServiceFactory<Program> Factory { get; private set; } = null!;

    protected HttpClient Api { get; private set; } = null!;

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    public virtual async ValueTask InitializeAsync()
    {
        Redis = await TestRedis.StartAsync();
        RedisClient = await ConnectionMultiplexer.ConnectAsync(Redis.ConnectionString);
        Factory = new ServiceFactory<Program>(Redis.ConnectionString, FastTimings()) { ConfigureServices = ConfigureServices };
        Api = Factory.CreateAuthorizedClient();
        Api.Timeout = TimeSpan.FromMinutes(2);
    }

    /// <summary>Replaces services of the service under test (a test's own decorator, for example).</summary>
    protected virtual void ConfigureServices(Microsoft.Extensions.DependencyInjection.IServiceCollection services)
    {
    }

    public virtual async ValueTask DisposeAsync()
    {
        foreach (var agent in _agents)
        {
            await agent.DisposeAsync();
        }

        Api.Dispose();
        await Factory.DisposeAsync();
        await RedisClient.DisposeAsync();
        await Redis.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    /// <summary>Starts and registers a fake agent (disposed with the test).</summary>
    protected async Task<FakeAgent> AgentAsync(string id, Func<AgentTask, AgentAction>? behaviour = null, params string[] capabilities)
    {
        var agent = await FakeAgent.StartAsync(id, Redis.ConnectionString, Api, capabilities, behaviour, Ct);
        _agents.Add(agent);
        return agent;
    }

    /// <summary>Waits until the orchestrator consumed and acknowledged a result (so whatever it did with it is stored).</summary>
    protected Task WaitUntilHandledAsync(PublishReceipt? receipt) => ResultsTopic.WaitUntilHandledAsync(RedisClient, receipt);
}

/// <summary>Looks at the orchestrator's consumer group on the results topic.</summary>
public static class ResultsTopic
{
    public const string Stream = "bus:{orchestration.results}";
    public const string Group = "orchestration-api";

    /// <summary>True when the group read past <paramref name="receipt"/>'s entry and has nothing pending (handled and acknowledged).</summary>
    public static async Task WaitUntilHandledAsync(IConnectionMultiplexer redis, PublishReceipt? receipt)
    {
        ArgumentNullException.ThrowIfNull(receipt);
        var db = redis.GetDatabase();
        await Eventually.TrueAsync(async () =>
        {
            var group = (await db.StreamGroupInfoAsync(Stream)).SingleOrDefault(g => g.Name == Group);
            return group.Name is not null && group.PendingMessageCount == 0 && CompareEntryIds(group.LastDeliveredId, receipt.EntryId) >= 0;
        }, TimeSpan.FromSeconds(60), $"the orchestrator handles result entry {receipt.EntryId}");
    }

    private static int CompareEntryIds(string? a, string b)
    {
        static (ulong Ms, ulong Seq) Parse(string id)
        {
            var parts = id.Split('-');
            return (ulong.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture),
                parts.Length > 1 ? ulong.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) : 0);
        }

        return a is null ? -1 : Parse(a).CompareTo(Parse(b));
    }
}
