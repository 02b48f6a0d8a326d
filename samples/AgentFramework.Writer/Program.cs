using System.ClientModel;
using AgentFramework.Writer;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;
using OpenAI;

// A Microsoft Agent Framework agent on the Agent Team bus. The one line that matters is AddBusAgent: it registers the
// agent with orchestration-api, heartbeats, answers every TASK on agent.<id> with a signed TASK_RESULT, honours the
// task's deadline and output schema and traces the work. Everything else is configuration, as in a deployment:
//   ConnectionStrings:redis                       the Redis the services use
//   Bus:ServiceName, Bus:Signing:Keys:N:*          its bus name (outside.*) and keys: its own, the orchestrator's (verify-only)
//   Clients:orchestration-api:BaseAddress|ApiKey   where to register, with a key that has the agent role
//   Agents:<id>:Capabilities:N, Agents:<id>:*      its capabilities and the rest of BusAgentOptions
//   Writer:Id                                      the agent id (default maf-writer)
//   Writer:Gateway:BaseAddress|ApiKey|Model        use the ai-gateway's /v1/chat/completions instead of the offline client
var builder = Host.CreateApplicationBuilder(args);
var id = builder.Configuration["Writer:Id"] ?? "maf-writer";

builder.AddBusAgent(id, services => new ChatClientAgent(
    ChatClient(builder.Configuration.GetSection("Writer:Gateway")),
    name: "Writer (Agent Framework)",
    instructions: "You are a technical writer. Answer with a short, clear draft."), options =>
{
    if (options.Capabilities.Count == 0)
    {
        options.Capabilities.Add("writing");
    }

    options.Metadata["kind"] = "agent-framework";
});

await builder.Build().RunAsync();

static IChatClient ChatClient(IConfigurationSection gateway) =>
    gateway["BaseAddress"] is { Length: > 0 } address
        // The gateway speaks OpenAI's API: its routing, limits, fallback and cost accounting apply to the agent's calls.
        ? new OpenAIClient(new ApiKeyCredential(gateway["ApiKey"] ?? ""), new OpenAIClientOptions { Endpoint = new Uri(new Uri(address), "v1/") })
            .GetChatClient(gateway["Model"] ?? "auto").AsIChatClient()
        : new OfflineChatClient();
