using TestSupport;

[assembly: AssemblyFixture(typeof(Ai.Gateway.Tests.RedisFixture))]

namespace Ai.Gateway.Tests;

/// <summary>One real redis-server for the whole test assembly; take it in a constructor to use it.</summary>
public sealed class RedisFixture : IAsyncLifetime
{
    public RedisServer Server { get; private set; } = null!;

    public string ConnectionString => Server.ConnectionString;

    public async ValueTask InitializeAsync() => Server = await RedisServer.StartAsync();

    public ValueTask DisposeAsync() => Server.DisposeAsync();
}
