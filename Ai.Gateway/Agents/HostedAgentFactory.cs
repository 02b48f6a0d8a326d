using System.Text.Json;
using Agents.Hosting;
using Ai.Gateway.Generation;
using Ai.Gateway.Policy;
using Ai.Gateway.Tools;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace Ai.Gateway.Agents;

/// <summary>
/// Builds the gateway's hosted agents as Microsoft Agent Framework agents: a <see cref="ChatClientAgent"/> over the
/// gateway's own chat pipeline (<see cref="HostedAgentChatClient"/>) with the agent's system prompt in its language,
/// its model, route hints, tools and output schema; and the bus options it joins with (Agents.Hosting's
/// <see cref="BusAgent"/> and <see cref="BusAgentService"/> do the rest, as for any agent).
/// </summary>
public sealed class HostedAgentFactory(
    GenerationService generation,
    ModelRouter router,
    ModelCatalog catalog,
    ToolRuntime tools,
    IOptions<GatewayPolicyOptions> policy,
    IOptions<HostedAgentsOptions> options,
    TimeProvider time,
    ILoggerFactory loggers)
{
    /// <summary>The instructions added to a compensation task, per prompt language.</summary>
    public static readonly IReadOnlyDictionary<string, string> CompensationInstructions = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["en"] = BusAgentOptions.DefaultCompensationInstructions,
        ["ar"] = "هذه مهمة تعويض: فشلت خطوة لاحقة في سير العمل. صِف كيف تتراجع عن عملك السابق الموضَّح في المدخلات، خطوةً بخطوة.",
    };

    /// <summary>The agent <paramref name="id"/> as configured in <c>HostedAgents:Agents:&lt;id&gt;</c>.</summary>
    public ChatClientAgent Create(string id) =>
        options.Value.Agents.TryGetValue(id, out var definition)
            ? Create(id, definition)
            : throw new ArgumentException($"HostedAgents:Agents has no agent '{id}'.", nameof(id));

    /// <summary>An agent with the given definition (tests build one without configuration).</summary>
    public ChatClientAgent Create(string id, HostedAgentDefinition definition)
    {
        var language = Language(definition, options.Value);
        var chat = new HostedAgentChatClient(generation.Pipeline, definition, router, catalog, tools, policy.Value, time);
        return new ChatClientAgent(chat, new ChatClientAgentOptions
        {
            Id = id,
            Name = definition.Name,
            ChatOptions = new ChatOptions
            {
                Instructions = definition.Prompts.GetValueOrDefault(language) ?? definition.Prompts.GetValueOrDefault("en") ?? $"You are {definition.Name}.",
                ModelId = string.IsNullOrEmpty(definition.Model) ? null : definition.Model,
                // The task's own schema (a debate judge's verdict) wins over this one: it is the run's response format.
                ResponseFormat = definition.OutputSchema is { Length: > 0 } schema
                    ? ChatResponseFormat.ForJsonSchema(JsonDocument.Parse(schema).RootElement.Clone(), "output")
                    : null,
            },
            // The pipeline already invokes the tools (bounded rounds, validated arguments); no second layer.
            UseProvidedChatClientAsIs = true,
        }, loggers);
    }

    /// <summary>How agent <paramref name="id"/> joins the bus: its registration, topic, heartbeats and concurrency.</summary>
    public static void Configure(BusAgentOptions bus, string id, HostedAgentDefinition definition, HostedAgentsOptions hosted)
    {
        bus.Id = id;
        bus.Name = definition.Name;
        bus.Capabilities = [.. definition.Capabilities];
        bus.Topic = definition.Topic;
        bus.Metadata = new Dictionary<string, string>(StringComparer.Ordinal) { ["host"] = "ai-gateway", ["kind"] = "llm" };
        // Without the gateway's key the agents still take tasks; only the registration is off.
        bus.Register = !string.IsNullOrEmpty(hosted.ApiKey);
        bus.HeartbeatInterval = hosted.HeartbeatInterval;
        bus.HeartbeatTtlSeconds = hosted.HeartbeatTtlSeconds;
        bus.Concurrency = hosted.Concurrency;
        // A model's answer (with retries and fallbacks) can take minutes: another replica must not take it over sooner.
        bus.ClaimIdleTime = TimeSpan.FromMinutes(5);
        bus.CompensationInstructions = CompensationInstructions[Language(definition, hosted) == "ar" ? "ar" : "en"];
        // A request the gateway refuses will be refused again; everything else may pass later.
        bus.IsRetryable = static ex => ex is not GenerateValidationException;
    }

    private static string Language(HostedAgentDefinition definition, HostedAgentsOptions hosted) => definition.Language ?? hosted.Language;
}
