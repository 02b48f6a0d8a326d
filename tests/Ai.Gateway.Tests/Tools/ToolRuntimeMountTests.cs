using System.Text.Json.Nodes;
using Ai.Gateway.Tools;
using Ai.Gateway.Tools.BuiltIn;
using Microsoft.Extensions.Time.Testing;
using static Ai.Gateway.Tests.Tools.FakeTool;

namespace Ai.Gateway.Tests.Tools;

/// <summary>Tools mounted at run time (issue 13: external MCP servers) beside the built-in ones.</summary>
public sealed class ToolRuntimeMountTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static FakeTool Named(string name) => new(name, """{ "type": "object", "properties": { "n": { "type": "integer" } }, "required": ["n"] }""",
        """{ "type": "object", "properties": { "ok": { "type": "boolean" } }, "required": ["ok"] }""",
        (_, _) => Task.FromResult<JsonNode?>(new JsonObject { ["ok"] = true }));

    [Fact]
    public async Task A_mounted_tool_is_listed_and_validated_like_a_built_in_one()
    {
        var runtime = Runtime(new FakeTimeProvider(), new EchoTool());
        var mounted = Named("docs__search");

        var refused = runtime.Mount("docs", [mounted]);
        var bad = await runtime.InvokeAsync("docs__search", JsonOf("""{ "n": "x" }"""), Cancel);
        var good = await runtime.InvokeAsync("docs__search", JsonOf("""{ "n": 1 }"""), Cancel);

        Assert.Empty(refused);
        Assert.Equal(["docs__search", "echo"], runtime.Tools.Select(t => t.Name));
        Assert.True(runtime.TryGetTool("docs__search", out _));
        Assert.Equal("docs__search", Assert.Single(runtime.AsAIFunctions(["docs__search"])).Name);
        Assert.Equal(ToolInvocationStatus.InvalidArguments, bad.Status);
        Assert.Equal(ToolInvocationStatus.Succeeded, good.Status);
        Assert.Equal(1, mounted.Calls);
    }

    [Fact]
    public void Mounting_again_replaces_the_sources_tools_and_leaves_other_sources_alone()
    {
        var runtime = Runtime(new FakeTimeProvider(), new EchoTool());
        runtime.Mount("a", [Named("a__one"), Named("a__two")]);
        runtime.Mount("b", [Named("b__one")]);

        runtime.Mount("a", [Named("a__three")]);

        Assert.Equal(["a__three", "b__one", "echo"], runtime.Tools.Select(t => t.Name));
        runtime.Mount("a", []);
        Assert.Equal(["b__one", "echo"], runtime.Tools.Select(t => t.Name));
    }

    [Fact]
    public void A_tool_with_a_taken_or_bad_name_or_a_bad_schema_is_refused_and_the_rest_mounted()
    {
        var runtime = Runtime(new FakeTimeProvider(), new EchoTool());
        runtime.Mount("b", [Named("b__one")]);
        var notAnObject = new FakeTool("a__list", """{ "type": "array" }""", AnyObject, (_, _) => Task.FromResult<JsonNode?>(null));

        var refused = runtime.Mount("a", [Named("echo"), Named("b__one"), Named("A-Bad"), notAnObject, Named("a__fine")]);

        Assert.Equal(["echo", "b__one", "A-Bad", "a__list"], refused.Select(r => r.Name));
        Assert.Contains("\"type\": \"object\"", refused.Single(r => r.Name == "a__list").Reason, StringComparison.Ordinal);
        Assert.Equal(["a__fine", "b__one", "echo"], runtime.Tools.Select(t => t.Name));
    }
}
