using System.Text.Json;
using Ai.Gateway.Tools;

namespace Ai.Gateway.Tests.Tools;

public sealed class SchemaUsabilityTests
{
    [Theory]
    [InlineData("true")]
    [InlineData("""{"type":"object","properties":{"name":{"type":"string"}},"required":["name"],"additionalProperties":false}""")]
    [InlineData("""{"$defs":{"node":{"type":"object","properties":{"value":{"type":"integer"},"children":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["value"]}},"$ref":"#/$defs/node"}""")]
    [InlineData("""{"type":"object","properties":{"next":{"$ref":"#"}}}""")]
    [InlineData("""{"type":"object","properties":{"a":{"$ref":"#item"}},"required":["a"],"$defs":{"x":{"$anchor":"item","type":"string"}}}""")]
    [InlineData("""{"$id":"https://example.com/person","type":"object","properties":{"a":{"$ref":"https://example.com/person#/$defs/n"}},"$defs":{"n":{"type":"number"}}}""")]
    [InlineData("""{"type":"array","prefixItems":[{"type":"string"}],"items":false}""")]
    [InlineData("""{"anyOf":[{"$ref":"#/$defs/loop"},{"type":"null"}],"$defs":{"loop":{"type":"object","properties":{"x":{"$ref":"#/$defs/loop"}},"required":["x"]}}}""")]
    public void A_schema_some_finite_value_matches_is_usable(string schema) =>
        Assert.Null(SchemaUsability.Problem(JsonDocument.Parse(schema).RootElement));

    [Theory]
    [InlineData("false", "accepts no value")]
    [InlineData("""{"properties":{"name":false}}""", "/properties/name")]
    [InlineData("""{"type":"object","required":["x"],"additionalProperties":false}""", "'x'")]
    [InlineData("""{"type":"object","properties":{"a":{"$ref":"#/$defs/missing"}}}""", "points nowhere")]
    [InlineData("""{"type":"object","properties":{"a":{"$ref":"#nope"}}}""", "no $anchor 'nope'")]
    [InlineData("""{"type":"object","properties":{"a":{"$ref":"other.json"}}}""", "points outside the schema")]
    [InlineData("""{"type":"array","minItems":1,"items":{"$ref":"#"}}""", "refers back")]
    [InlineData("""{"$defs":{"a":{"type":"object","properties":{"b":{"$ref":"#/$defs/b"}},"required":["b"]},"b":{"type":"object","properties":{"a":{"$ref":"#/$defs/a"}},"required":["a"]}},"$ref":"#/$defs/a"}""", "refers back")]
    public void A_schema_no_finite_value_matches_or_that_points_away_is_refused_with_the_reason(string schema, string reason) =>
        Assert.Contains(reason, SchemaUsability.Problem(JsonDocument.Parse(schema).RootElement), StringComparison.Ordinal);
}
