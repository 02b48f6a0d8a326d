using System.Text.Json.Nodes;

namespace Ai.Gateway.Tests.Fakes;

/// <summary>OpenAI chat-completions bodies: a completion, a stream of chunks, an error.</summary>
public static class OpenAIReplies
{
    public static JsonObject CompletionBody(string text, string model = "gpt-test", string finishReason = "stop") => new()
    {
        ["id"] = "chatcmpl-1",
        ["object"] = "chat.completion",
        ["created"] = 1_760_000_000,
        ["model"] = model,
        ["choices"] = new JsonArray(new JsonObject
        {
            ["index"] = 0,
            ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = text },
            ["finish_reason"] = finishReason,
        }),
        ["usage"] = new JsonObject { ["prompt_tokens"] = 9, ["completion_tokens"] = 3, ["total_tokens"] = 12 },
    };

    public static FakeReply Completion(string text, string model = "gpt-test") =>
        FakeReply.Json(CompletionBody(text, model).ToJsonString());

    /// <summary>One chunk per text piece, a finish chunk, a usage chunk, then <c>[DONE]</c>.</summary>
    public static FakeReply Stream(IEnumerable<string> pieces, string model = "gpt-test", string newline = "\n", bool thenStall = false)
    {
        JsonObject Chunk(JsonObject delta, string? finish) => new()
        {
            ["id"] = "chatcmpl-1",
            ["object"] = "chat.completion.chunk",
            ["created"] = 1_760_000_000,
            ["model"] = model,
            ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = finish }),
        };

        var events = new List<string> { Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "" }, null).ToJsonString() };
        events.AddRange(pieces.Select(p => Chunk(new JsonObject { ["content"] = p }, null).ToJsonString()));
        if (!thenStall)
        {
            events.Add(Chunk([], "stop").ToJsonString());
            var usage = Chunk([], null);
            usage["choices"] = new JsonArray();
            usage["usage"] = new JsonObject { ["prompt_tokens"] = 9, ["completion_tokens"] = 3, ["total_tokens"] = 12 };
            events.Add(usage.ToJsonString());
            events.Add("[DONE]");
        }

        return FakeReply.Sse(events, newline, thenStall);
    }

    public static FakeReply Error(int status, string message, string? type = null, string? code = null, IReadOnlyDictionary<string, string>? headers = null) =>
        FakeReply.Json(new JsonObject
        {
            ["error"] = new JsonObject { ["message"] = message, ["type"] = type, ["code"] = code, ["param"] = null },
        }.ToJsonString(), status, headers);
}
