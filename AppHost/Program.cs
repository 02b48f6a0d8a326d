using AppHost;

var builder = DistributedApplication.CreateBuilder(args);

// Infrastructure: Redis holds the bus streams, run state, the registry and the rate-limit buckets.
// Published: a container with a named data volume and append-only persistence, or a managed Redis
// given as a secret connection string (AZURE_REDIS_MODE=connectionString); see docs/RUNBOOK.md.
IResourceBuilder<IResourceWithConnectionString> redis;
try
{
    redis = builder.AddRedisForThisMachine();
}
catch (RedisSetupException problem)
{
    // A newcomer's most likely first failure: say what to do, not where in the code it happened.
    Console.Error.WriteLine(problem.Message);
    return 1;
}

// Secrets: generated for local runs and by azd when deployed.
var apiKey = builder.AddGeneratedSecret("api-key", 40);
var gatewayServiceKey = builder.AddGeneratedSecret("gateway-service-key", 40);
var busSigningKey = builder.AddGeneratedSecret("bus-signing-key", 48);

// Always declared so a deployment can set it; empty means the gateway's offline provider.
var geminiApiKey = builder.AddOptionalSecret("gemini-api-key");

// Services: reachable from outside (clients, outside agents), probed on /alive and /health/ready.
var orchestration = builder.AddService<Projects.Orchestration_Api>("orchestration-api")
    .WithReference(redis).WaitFor(redis)
    .WithEnvironment("Auth__ApiKeys__client", apiKey)
    .WithEnvironment("Auth__ApiKeys__gateway", gatewayServiceKey)
    // Roles (docs/CONFIGURATION.md): the local client key may do everything; the gateway's key only registers
    // and heartbeats its hosted agents.
    .WithEnvironment("Auth__Roles__client", "client,admin")
    .WithEnvironment("Auth__Roles__gateway", "agent")
    .WithEnvironment("Bus__Signing__Keys__0__Id", "primary")
    .WithEnvironment("Bus__Signing__Keys__0__Secret", busSigningKey)
    .AsPublicService();

// The gateway also hosts LLM agents, which register with orchestration-api using their own key.
builder.AddService<Projects.Ai_Gateway>("ai-gateway")
    .WithReference(redis).WaitFor(redis)
    .WithReference(orchestration)
    .WithEnvironment("Auth__ApiKeys__client", apiKey)
    .WithEnvironment("Auth__Roles__client", "client,admin")
    .WithEnvironment("HostedAgents__ApiKey", gatewayServiceKey)
    .WithEnvironment("Bus__Signing__Keys__0__Id", "primary")
    .WithEnvironment("Bus__Signing__Keys__0__Secret", busSigningKey)
    .WithEnvironment("Gemini__ApiKey", geminiApiKey)
    .AsPublicService();

builder.Build().Run();
return 0;
