using System.Text.Json;
using System.Text.Json.Nodes;

namespace Ai.Gateway.Tools.BuiltIn;

/// <summary>Evaluates an arithmetic expression with <see cref="Calculator"/> (a parser, never code evaluation).</summary>
public sealed class CalculateTool : ITool
{
    private static readonly JsonElement Input = SchemaJson.Parse($$"""
        {
          "type": "object",
          "properties": {
            "expression": {
              "type": "string", "minLength": 1, "maxLength": {{Calculator.MaxLength}},
              "description": "Arithmetic such as 2 * (3 + 4) ^ 2 / sqrt(16). Operators + - * / % ^ and parentheses; constants pi, e; functions sqrt, abs, floor, ceil, round(x[, digits]), min, max, ln, log10, exp, sin, cos, tan."
            }
          },
          "required": ["expression"],
          "additionalProperties": false
        }
        """);

    private static readonly JsonElement Output = SchemaJson.Parse("""
        {
          "type": "object",
          "properties": {
            "expression": { "type": "string" },
            "value": { "type": "number" }
          },
          "required": ["expression", "value"],
          "additionalProperties": false
        }
        """);

    public string Name => "calculate";

    public string Description => "Evaluates an arithmetic expression exactly as written and returns its value.";

    public JsonElement InputSchema => Input;

    public JsonElement OutputSchema => Output;

    public Task<JsonNode?> InvokeAsync(JsonElement arguments, CancellationToken cancellationToken)
    {
        var expression = arguments.GetProperty("expression").GetString()!;
        try
        {
            return Task.FromResult<JsonNode?>(new JsonObject
            {
                ["expression"] = expression,
                ["value"] = Calculator.Evaluate(expression),
            });
        }
        catch (CalculatorException e)
        {
            throw new ToolArgumentException("/expression", e.Message);
        }
    }
}
