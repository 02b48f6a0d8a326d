using AppHost;

var builder = DistributedApplication.CreateBuilder(args);

// Infrastructure: Redis holds the bus streams, run state, the registry and the rate-limit buckets.
var redis = builder.AddRedisForThisMachine();

// Secrets: generated for local runs, prompted for (or taken from azd) when deployed.
var apiKey = builder.AddGeneratedSecret("api-key", 40);
var gatewayServiceKey = builder.AddGeneratedSecret("gateway-service-key", 40);
var busSigningKey = builder.AddGeneratedSecret("bus-signing-key", 48);
var geminiApiKey = string.IsNullOrEmpty(builder.Configuration["Parameters:gemini-api-key"])
    ? null
    : builder.AddParameter("gemini-api-key", secret: true);

// Services.
var orchestration = builder.AddProject<Projects.Orchestration_Api>("orchestration-api")
    .WithReference(redis).WaitFor(redis)
    .WithEnvironment("Auth__ApiKeys__client", apiKey)
    .WithEnvironment("Auth__ApiKeys__gateway", gatewayServiceKey)
    .WithEnvironment("Bus__Signing__Keys__0__Id", "primary")
    .WithEnvironment("Bus__Signing__Keys__0__Secret", busSigningKey)
    .WithHttpHealthCheck("/health");

// The gateway also hosts LLM agents, which register with orchestration-api using their own key.
var gateway = builder.AddProject<Projects.Ai_Gateway>("ai-gateway")
    .WithReference(redis).WaitFor(redis)
    .WithReference(orchestration)
    .WithEnvironment("Auth__ApiKeys__client", apiKey)
    .WithEnvironment("HostedAgents__ApiKey", gatewayServiceKey)
    .WithEnvironment("Bus__Signing__Keys__0__Id", "primary")
    .WithEnvironment("Bus__Signing__Keys__0__Secret", busSigningKey)
    .WithHttpHealthCheck("/health");

if (geminiApiKey is not null)
{
    gateway.WithEnvironment("Gemini__ApiKey", geminiApiKey);
}

builder.Build().Run();
