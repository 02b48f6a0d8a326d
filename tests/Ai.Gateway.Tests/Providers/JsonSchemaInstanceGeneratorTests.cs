using System.Text.Json;
using Ai.Gateway.Providers.Offline;
using Json.Schema;

namespace Ai.Gateway.Tests.Providers;

public sealed class JsonSchemaInstanceGeneratorTests
{
    public static TheoryData<string, string> Schemas => new()
    {
        { "object-required", """{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}},"required":["a","b"],"additionalProperties":false}""" },
        { "optional-only", """{"type":"object","properties":{"a":{"type":"string","minLength":3}},"additionalProperties":false}""" },
        { "min-properties", """{"type":"object","properties":{"a":{"type":"boolean"},"b":{"type":"null"}},"minProperties":2}""" },
        { "array-min-items", """{"type":"array","items":{"type":"string","minLength":10},"minItems":3}""" },
        { "unique-items", """{"type":"array","items":{"type":"integer"},"minItems":3,"uniqueItems":true}""" },
        { "unique-strings", """{"type":"array","items":{"type":"string","maxLength":3},"minItems":4,"uniqueItems":true}""" },
        { "prefix-items", """{"type":"array","prefixItems":[{"type":"string"},{"type":"number","minimum":5}],"minItems":2}""" },
        { "contains", """{"type":"array","contains":{"const":"x"},"minContains":2}""" },
        { "enum", """{"enum":["red","green","blue"]}""" },
        { "const", """{"const":{"version":2}}""" },
        { "string-lengths", """{"type":"string","minLength":12,"maxLength":15}""" },
        { "short-string", """{"type":"string","maxLength":2}""" },
        { "formats", """{"type":"object","properties":{"at":{"type":"string","format":"date-time"},"id":{"type":"string","format":"uuid"},"mail":{"type":"string","format":"email"},"site":{"type":"string","format":"uri"},"day":{"type":"string","format":"date"}},"required":["at","id","mail","site","day"]}""" },
        { "number-minimum", """{"type":"number","minimum":2.5,"maximum":3}""" },
        { "number-exclusive", """{"type":"number","exclusiveMinimum":0,"exclusiveMaximum":0.5}""" },
        { "negative-range", """{"type":"integer","minimum":-10,"maximum":-3}""" },
        { "integer-multiple", """{"type":"integer","minimum":7,"multipleOf":5}""" },
        { "boolean", """{"type":"boolean"}""" },
        { "null", """{"type":"null"}""" },
        { "nullable-type-array", """{"type":["null","string"],"minLength":2}""" },
        { "any-of", """{"anyOf":[{"type":"null"},{"type":"object","properties":{"x":{"type":"integer","minimum":1}},"required":["x"]}]}""" },
        { "one-of", """{"oneOf":[{"type":"string","format":"email"},{"type":"integer","minimum":100}]}""" },
        { "all-of", """{"allOf":[{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]},{"properties":{"b":{"type":"integer","minimum":3}},"required":["b"]}]}""" },
        { "ref-defs", """{"$defs":{"item":{"type":"object","properties":{"sku":{"type":"string","minLength":4},"qty":{"type":"integer","minimum":1}},"required":["sku","qty"]}},"type":"object","properties":{"items":{"type":"array","items":{"$ref":"#/$defs/item"},"minItems":2},"main":{"$ref":"#/$defs/item"}},"required":["items","main"]}""" },
        { "recursive-ref", """{"$defs":{"node":{"type":"object","properties":{"name":{"type":"string"},"children":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["name","children"]}},"$ref":"#/$defs/node"}""" },
        { "draft-definitions", """{"$schema":"http://json-schema.org/draft-07/schema#","definitions":{"s":{"type":"string","enum":["a","b"]}},"type":"object","properties":{"v":{"$ref":"#/definitions/s"}},"required":["v"]}""" },
        { "meai-style", """{"type":"object","properties":{"city":{"type":"string"},"days":{"type":["integer","null"],"default":null}},"required":["city"]}""" },
        { "empty", "{}" },
    };

    [Theory]
    [MemberData(nameof(Schemas))]
    public void Generates_an_instance_that_validates(string name, string schema)
    {
        var instance = JsonSchemaInstanceGenerator.Generate(JsonDocument.Parse(schema).RootElement);

        SchemaAssert.Valid(schema, instance?.ToJsonString() ?? "null", name);
    }

    [Fact]
    public void Generation_is_deterministic()
    {
        var schema = JsonDocument.Parse(Schemas.Single(s => s.Data.Item1 == "ref-defs").Data.Item2).RootElement;

        Assert.Equal(JsonSchemaInstanceGenerator.Generate(schema)!.ToJsonString(), JsonSchemaInstanceGenerator.Generate(schema)!.ToJsonString());
    }

    [Fact]
    public void The_false_schema_has_no_instance()
    {
        Assert.Throws<InvalidOperationException>(() => JsonSchemaInstanceGenerator.Generate(JsonDocument.Parse("false").RootElement));
    }
}

/// <summary>Validates an instance with JsonSchema.Net (formats included) and lists the errors when it fails.</summary>
internal static class SchemaAssert
{
    public static void Valid(string schema, string instance, string? name = null)
    {
        var evaluation = JsonSchema.FromText(schema).Evaluate(
            JsonDocument.Parse(instance).RootElement,
            new EvaluationOptions { OutputFormat = OutputFormat.List, RequireFormatValidation = true });
        var errors = evaluation.Details?
            .Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Key} {e.Value}")) ?? [];
        Assert.True(evaluation.IsValid, $"{name}: {instance} does not validate: {string.Join("; ", errors)}");
    }
}
