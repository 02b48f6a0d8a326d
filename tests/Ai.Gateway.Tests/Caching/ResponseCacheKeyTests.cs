using System.Text.Json;
using Ai.Gateway.Caching;
using Ai.Gateway.Policy;
using Microsoft.Extensions.AI;

namespace Ai.Gateway.Tests.Caching;

/// <summary>The cache key: the same request gives the same key; anything the answer depends on changes it.</summary>
public sealed class ResponseCacheKeyTests
{
    private static readonly ResponseCacheCall Caller = new(ResponseCacheCall.Use, "app", "chat");

    private static string Key(Action<List<ChatMessage>, ChatOptions>? change = null, ResponseCacheCall? call = null)
    {
        List<ChatMessage> messages = [new(ChatRole.System, "Be brief."), new(ChatRole.User, "What is 2+2?")];
        var options = new ChatOptions { ModelId = "m1", Temperature = 0.2f };
        change?.Invoke(messages, options);
        return ResponseCacheKey.For(messages, options, call ?? Caller);
    }

    [Fact]
    public void The_same_request_gives_the_same_versioned_key()
    {
        Assert.Equal(Key(), Key());
        Assert.StartsWith("gateway:cache:v1:", Key(), StringComparison.Ordinal);
        Assert.DoesNotContain("{", Key(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_gateways_per_request_objects_do_not_change_the_key()
    {
        var plain = Key();
        var withState = Key((_, o) =>
        {
            new GatewayCallContext().Attach(o);
            new ResponseCacheCall(ResponseCacheCall.Use, "app", "chat").Attach(o);
        });

        Assert.Equal(plain, withState);
    }

    public static TheoryData<string> Changes => new()
    {
        "model", "message text", "message role", "added message", "temperature", "top_p", "max tokens", "seed", "stop",
        "json", "schema", "tool", "tool schema", "tool mode", "flag", "reasoning", "caller", "surface",
    };

    [Theory]
    [MemberData(nameof(Changes))]
    public void Anything_the_answer_depends_on_changes_the_key(string change)
    {
        var schema = JsonSerializer.SerializeToElement(new { type = "object" });
        var otherSchema = JsonSerializer.SerializeToElement(new { type = "object", required = new[] { "a" } });
        var tool = AIFunctionFactory.CreateDeclaration("lookup", "Looks up", schema);
        var changed = change switch
        {
            "model" => Key((_, o) => o.ModelId = "m2"),
            "message text" => Key((m, _) => m[1] = new ChatMessage(ChatRole.User, "What is 2+3?")),
            "message role" => Key((m, _) => m[0] = new ChatMessage(ChatRole.User, "Be brief.")),
            "added message" => Key((m, _) => m.Add(new ChatMessage(ChatRole.Assistant, "4"))),
            "temperature" => Key((_, o) => o.Temperature = 0.3f),
            "top_p" => Key((_, o) => o.TopP = 0.9f),
            "max tokens" => Key((_, o) => o.MaxOutputTokens = 10),
            "seed" => Key((_, o) => o.Seed = 7),
            "stop" => Key((_, o) => o.StopSequences = ["END"]),
            "json" => Key((_, o) => o.ResponseFormat = ChatResponseFormat.Json),
            "schema" => Key((_, o) => o.ResponseFormat = ChatResponseFormat.ForJsonSchema(schema)),
            "tool" => Key((_, o) => o.Tools = [tool]),
            "tool schema" => Key((_, o) => o.Tools = [AIFunctionFactory.CreateDeclaration("lookup", "Looks up", otherSchema)]),
            "tool mode" => Key((_, o) => o.ToolMode = ChatToolMode.RequireAny),
            "flag" => Key((_, o) => o.AdditionalProperties = new() { ["gateway.reasoning.minimal"] = true }),
            "reasoning" => Key((_, o) => o.Reasoning = new ReasoningOptions { Effort = ReasoningEffort.High }),
            "caller" => Key(call: new ResponseCacheCall(ResponseCacheCall.Use, "other", "chat")),
            "surface" => Key(call: new ResponseCacheCall(ResponseCacheCall.Use, "app", "generate")),
            _ => throw new ArgumentOutOfRangeException(nameof(change)),
        };

        Assert.NotEqual(Key(), changed);
        if (change is "schema")
        {
            Assert.NotEqual(changed, Key((_, o) => o.ResponseFormat = ChatResponseFormat.ForJsonSchema(otherSchema)));
        }

        if (change is "tool")
        {
            Assert.NotEqual(changed, Key((_, o) => { o.Tools = [tool]; o.ToolMode = ChatToolMode.RequireAny; }));
        }
    }
}
