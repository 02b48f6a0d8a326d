using TestSupport;

namespace Orchestration.Api.Tests.Functional;

/// <summary>Issue 8: readiness answers 503 promptly when Redis hangs or is down; liveness does not depend on Redis.</summary>
public sealed class HealthUnderRedisFaultsTests
{
    [Theory]
    [InlineData(HealthUnderRedisFaults.Fault.ClientPause)]
    [InlineData(HealthUnderRedisFaults.Fault.DebugSleep)]
    [InlineData(HealthUnderRedisFaults.Fault.Down)]
    public async Task Readiness_is_503_promptly_and_liveness_stays_200_when_redis_fails(HealthUnderRedisFaults.Fault fault)
    {
        await using var redis = await RedisServer.StartAsync(HealthUnderRedisFaults.ServerArgs);
        await using var factory = new ServiceFactory<Program>(redis.ConnectionString);
        using var client = factory.CreateClient();
        client.Timeout = TimeSpan.FromSeconds(30);

        await HealthUnderRedisFaults.ProbeAsync(client, redis, fault);
    }
}
