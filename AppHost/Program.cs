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
// One bus signing identity per sender (docs/PROTOCOL.md §5a): a key signs only for the names it is bound to, so one
// service or agent cannot sign as another. Outside agents share a key bound to names starting with "outside.".
var orchestrationBusKey = builder.AddGeneratedSecret("bus-key-orchestration-api", 48);
var gatewayBusKey = builder.AddGeneratedSecret("bus-key-ai-gateway", 48);
var outsideAgentsBusKey = builder.AddGeneratedSecret("bus-key-outside-agents", 48);
const string OrchestrationSender = "Orchestration.Api", GatewaySender = "Ai.Gateway", OutsideAgentSenders = "outside.*";
// The key people sign in to the console with (caller 'console' in both services); ./scripts/key --console prints it.
var consoleKey = builder.AddGeneratedSecret("console-api-key", 40);

// Always declared so a deployment can set it; empty means the gateway's offline provider.
var geminiApiKey = builder.AddOptionalSecret("gemini-api-key");

// Services: reachable from outside (clients, outside agents), probed on /alive and /health/ready.
var orchestration = builder.AddService<Projects.Orchestration_Api>("orchestration-api")
    .WithReference(redis).WaitFor(redis)
    .WithEnvironment("Auth__ApiKeys__client", apiKey)
    .WithEnvironment("Auth__ApiKeys__gateway", gatewayServiceKey)
    // Roles (docs/CONFIGURATION.md): the local client key may do everything; the gateway's key only registers
    // and heartbeats its hosted agents.
    .WithEnvironment("Auth__ApiKeys__console", consoleKey)
    .WithEnvironment("Auth__Roles__client", "client,admin")
    .WithEnvironment("Auth__Roles__gateway", "agent")
    .WithEnvironment("Auth__Roles__console", "client,admin")
    .WithEnvironment("Bus__ServiceName", OrchestrationSender)
    .WithBusKey(0, "orchestration-api", orchestrationBusKey, OrchestrationSender)
    .WithBusKey(1, "ai-gateway", gatewayBusKey, GatewaySender, verifyOnly: true)
    .WithBusKey(2, "outside-agents", outsideAgentsBusKey, OutsideAgentSenders, verifyOnly: true)
    .AsPublicService();

// The gateway also hosts LLM agents, which register with orchestration-api using their own key.
var gateway = builder.AddService<Projects.Ai_Gateway>("ai-gateway")
    .WithReference(redis).WaitFor(redis)
    .WithReference(orchestration)
    .WithEnvironment("Auth__ApiKeys__client", apiKey)
    .WithEnvironment("Auth__ApiKeys__console", consoleKey)
    .WithEnvironment("Auth__Roles__client", "client,admin")
    .WithEnvironment("Auth__Roles__console", "client,admin")
    .WithEnvironment("HostedAgents__ApiKey", gatewayServiceKey)
    .WithEnvironment("Bus__ServiceName", GatewaySender)
    .WithBusKey(0, "ai-gateway", gatewayBusKey, GatewaySender)
    .WithBusKey(1, "orchestration-api", orchestrationBusKey, OrchestrationSender, verifyOnly: true)
    .WithEnvironment("Gemini__ApiKey", geminiApiKey)
    .AsPublicService();

// The web console: talks to both services only over their HTTP APIs, with the signed-in user's key. It holds no key of
// its own; the console key above is the one a person signs in with.
builder.AddService<Projects.Web_Console>("console")
    .WithReference(orchestration).WaitFor(orchestration)
    .WithReference(gateway).WaitFor(gateway)
    .AsPublicService();

builder.Build().Run();
return 0;
