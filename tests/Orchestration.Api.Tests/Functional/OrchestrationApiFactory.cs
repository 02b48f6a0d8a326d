using TestSupport;

namespace Orchestration.Api.Tests.Functional;

public sealed class OrchestrationApiFactory(RedisFixture redis, IDictionary<string, string?>? settings = null)
    : ServiceFactory<Program>(redis.ConnectionString, settings);
