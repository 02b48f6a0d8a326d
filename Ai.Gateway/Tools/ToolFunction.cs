using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace Ai.Gateway.Tools;

/// <summary>
/// A runtime tool as a Microsoft.Extensions.AI function: the model sees the tool's input schema,
/// and a call goes through the same validation as the HTTP API. A call that fails returns an error
/// object to the model (so it can correct itself) instead of throwing.
/// </summary>
internal sealed class ToolFunction(ToolRuntime runtime, ToolDescriptor tool) : AIFunction
{
    public override string Name => tool.Name;

    public override string Description => tool.Description;

    public override JsonElement JsonSchema => tool.InputSchema;

    public override JsonElement? ReturnJsonSchema => tool.OutputSchema;

    protected override async ValueTask<object?> InvokeCoreAsync(AIFunctionArguments arguments, CancellationToken cancellationToken)
    {
        var outcome = await runtime.InvokeAsync(tool.Name, ToJson(arguments), cancellationToken);
        if (outcome.Succeeded)
        {
            return outcome.Result;
        }

        return ErrorJson(outcome);
    }

    /// <summary>What a caller is told of a failed call: <c>{ error: { type, message, errors: [{ path, message }] } }</c>.</summary>
    internal static JsonElement ErrorJson(ToolInvocationResult outcome) =>
        JsonSerializer.SerializeToElement(new JsonObject
        {
            ["error"] = new JsonObject
            {
                ["type"] = outcome.Status == ToolInvocationStatus.InvalidArguments ? "invalid_arguments" : "tool_failed",
                ["message"] = outcome.Error,
                ["errors"] = new JsonArray(outcome.Errors
                    .Select(e => (JsonNode)new JsonObject { ["path"] = e.Path, ["message"] = e.Message })
                    .ToArray()),
            },
        });

    // Providers hand arguments over as JsonElements, or as .NET values when they parsed them.
    private JsonElement ToJson(AIFunctionArguments arguments)
    {
        var json = new JsonObject();
        foreach (var (name, value) in arguments)
        {
            json[name] = value switch
            {
                null or JsonElement { ValueKind: JsonValueKind.Undefined } => null,
                JsonElement element => JsonNode.Parse(element.GetRawText()),
                JsonNode node => node.DeepClone(),
                _ => JsonSerializer.SerializeToNode(value, value.GetType(), JsonSerializerOptions),
            };
        }

        return JsonSerializer.SerializeToElement(json);
    }
}
