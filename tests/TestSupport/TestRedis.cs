namespace TestSupport;

/// <summary>A Redis the tests started: one <see cref="RedisServer"/> or a <see cref="RedisCluster"/>.</summary>
public interface ITestRedis : IAsyncDisposable
{
    /// <summary>A StackExchange.Redis connection string for it (every node of a cluster).</summary>
    string ConnectionString { get; }

    /// <summary>Sends one inline command (e.g. <c>SCRIPT FLUSH</c>) to the server, or to every node of a cluster, and returns the first reply line (a cluster's when every node answered the same, else all of them).</summary>
    Task<string> CommandAsync(string command);
}

/// <summary>
/// Starts the Redis a fixture runs on: a single <c>redis-server</c>, or a local 3-master <see cref="RedisCluster"/>
/// when the environment variable <c>TEST_REDIS</c> is <c>cluster</c> (the cluster tier: tests with the trait
/// <c>Category=Cluster</c> run with it set; see CONTRIBUTING).
/// </summary>
public static class TestRedis
{
    /// <summary>The environment variable that chooses the Redis of <see cref="StartAsync"/>.</summary>
    public const string Variable = "TEST_REDIS";

    /// <summary>True when this test run is the cluster tier (<c>TEST_REDIS=cluster</c>).</summary>
    public static bool IsCluster =>
        string.Equals(Environment.GetEnvironmentVariable(Variable), "cluster", StringComparison.OrdinalIgnoreCase);

    /// <summary>A cluster when <see cref="IsCluster"/>, else a single redis-server.</summary>
    public static async Task<ITestRedis> StartAsync() =>
        IsCluster ? await RedisCluster.StartAsync() : await RedisServer.StartAsync();
}
