using System.Text.Json;
using System.Text.Json.Nodes;
using Ai.Gateway.Tools;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Ai.Gateway.Tests.Tools;

/// <summary>A hand-written tool for tests: fixed schemas, behaviour given as a delegate.</summary>
public sealed class FakeTool(string name, string inputSchema, string outputSchema, Func<JsonElement, CancellationToken, Task<JsonNode?>> invoke) : ITool
{
    public const string AnyObject = """{ "type": "object" }""";

    public string Name => name;

    public string Description => $"The test tool {name}.";

    public JsonElement InputSchema { get; } = JsonDocument.Parse(inputSchema).RootElement.Clone();

    public JsonElement OutputSchema { get; } = JsonDocument.Parse(outputSchema).RootElement.Clone();

    public int Calls { get; private set; }

    public Task<JsonNode?> InvokeAsync(JsonElement arguments, CancellationToken cancellationToken)
    {
        Calls++;
        return invoke(arguments, cancellationToken);
    }

    /// <summary>Takes a user with a name and a non-negative age, and string tags; returns a fixed object.</summary>
    public static FakeTool Profile() => new("profile",
        """
        {
          "type": "object",
          "properties": {
            "user": {
              "type": "object",
              "properties": { "name": { "type": "string" }, "age": { "type": "integer", "minimum": 0 } },
              "required": ["name"]
            },
            "tags": { "type": "array", "items": { "type": "string" } }
          },
          "required": ["user"],
          "additionalProperties": false
        }
        """,
        AnyObject,
        (_, _) => Task.FromResult<JsonNode?>(new JsonObject { ["ok"] = true }));

    /// <summary>Promises a number but returns a string.</summary>
    public static FakeTool BadOutput() => new("bad_output", AnyObject,
        """{ "type": "object", "properties": { "value": { "type": "number" } }, "required": ["value"] }""",
        (_, _) => Task.FromResult<JsonNode?>(new JsonObject { ["value"] = "not a number" }));

    /// <summary>Throws an exception whose message must not reach the caller.</summary>
    public static FakeTool Throwing() => new("throwing", AnyObject, AnyObject,
        (_, _) => throw new InvalidOperationException("secret connection string Server=db;Password=hunter2"));

    public static ToolRuntime Runtime(TimeProvider time, params ITool[] tools) =>
        new(tools, time, Options.Create(new ToolRuntimeOptions()), NullLogger<ToolRuntime>.Instance);

    public static JsonElement JsonOf(string json) => JsonDocument.Parse(json).RootElement.Clone();
}
