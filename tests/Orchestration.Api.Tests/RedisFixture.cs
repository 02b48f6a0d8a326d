using TestSupport;

[assembly: AssemblyFixture(typeof(Orchestration.Api.Tests.RedisFixture))]

namespace Orchestration.Api.Tests;

/// <summary>One real redis-server for the whole test assembly.</summary>
public sealed class RedisFixture : IAsyncLifetime
{
    public ITestRedis Server { get; private set; } = null!;

    public string ConnectionString => Server.ConnectionString;

    public async ValueTask InitializeAsync() => Server = await TestRedis.StartAsync();

    public ValueTask DisposeAsync() => Server.DisposeAsync();
}
