using System.Text.Json;
using System.Text.Json.Nodes;

namespace Ai.Gateway.Tools.BuiltIn;

/// <summary>Returns its arguments unchanged: a probe for clients and models.</summary>
public sealed class EchoTool : ITool
{
    private static readonly JsonElement Schema = SchemaJson.Parse("""
        {
          "type": "object",
          "properties": {
            "message": { "type": "string", "maxLength": 10000, "description": "The text to send back." }
          },
          "required": ["message"],
          "additionalProperties": false
        }
        """);

    public string Name => "echo";

    public string Description => "Returns its arguments unchanged. Useful to test tool calling.";

    public JsonElement InputSchema => Schema;

    public JsonElement OutputSchema => Schema;

    public Task<JsonNode?> InvokeAsync(JsonElement arguments, CancellationToken cancellationToken) =>
        Task.FromResult(JsonNode.Parse(arguments.GetRawText()));
}
