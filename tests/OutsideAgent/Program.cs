using OutsideAgent;

// An outside agent: reads TASKs from agent.<Agent:Id> with the bus library (its group is its bus name, its consumer
// name is per process), answers each with a signed TASK_RESULT, and keeps itself registered with orchestration-api.
// Everything is configuration, as in a deployment:
//   ConnectionStrings:redis                      the Redis the services use
//   Bus:ServiceName, Bus:Signing:Keys:N:*         its bus name (outside.*) and keys: its own, the orchestrator's (verify-only)
//   Bus:Subscription:*                            e.g. ClaimIdleTime: how soon a dead instance's tasks are reclaimed
//   Clients:orchestration-api:BaseAddress|ApiKey  where to register, with a key that has the agent role
//   Agent:*                                       see OutsideAgentOptions
var builder = Host.CreateApplicationBuilder(args);
builder.AddCommunicationBus("redis");
builder.AddOrchestrationClient();
builder.Services.AddOptions<OutsideAgentOptions>().BindConfiguration(OutsideAgentOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton<Ledger>();
builder.Services.AddHostedService<OutsideAgentService>();
await builder.Build().RunAsync();
