using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Ai.Gateway.Tests.Fakes;

/// <summary>
/// Embedding answers that follow the request: one vector per text, in order, of the asked length (4 when none is
/// asked). A text's vector is <c>[length, position, 0.5, 0.25, …]</c>, so a test can tell which text it belongs to.
/// </summary>
public static class EmbeddingReplies
{
    public const int DefaultLength = 4;

    public static float[] VectorFor(string text, int position, int length = DefaultLength) =>
        Enumerable.Range(0, length).Select(i => i switch { 0 => text.Length, 1 => position, _ => MathF.Pow(0.5f, i - 1) }).ToArray();

    /// <summary>Gemini: <c>embedContent</c> → <c>{ embedding: { values } }</c>; <c>batchEmbedContents</c> → <c>{ embeddings: [{ values }] }</c>.</summary>
    public static FakeReply Gemini(JsonObject? usageMetadata = null) => FakeReply.Custom("gemini embeddings", async (context, request) =>
    {
        var body = request.Json.AsObject();
        JsonObject answer;
        if (body["requests"] is JsonArray requests)
        {
            answer = new JsonObject { ["embeddings"] = new JsonArray([.. requests.Select((r, i) => Values(r!.AsObject(), i))]) };
        }
        else
        {
            answer = new JsonObject { ["embedding"] = Values(body, 0) };
        }

        if (usageMetadata is not null)
        {
            answer["usageMetadata"] = usageMetadata.DeepClone();
        }

        await Write(context, answer);
    });

    /// <summary>OpenAI: <c>POST /v1/embeddings</c> → the list, floats or base64 as asked, with <c>usage.prompt_tokens</c> of <paramref name="promptTokens"/>.</summary>
    public static FakeReply OpenAI(int promptTokens = 7) => FakeReply.Custom("openai embeddings", async (context, request) =>
    {
        var body = request.Json.AsObject();
        var texts = body["input"] is JsonArray array ? array.Select(t => t!.GetValue<string>()).ToList() : [body["input"]!.GetValue<string>()];
        var length = body["dimensions"]?.GetValue<int>() ?? DefaultLength;
        var base64 = body["encoding_format"]?.GetValue<string>() == "base64";
        var data = texts.Select((t, i) =>
        {
            var vector = VectorFor(t, i, length);
            JsonNode embedding = base64 ? Convert.ToBase64String(MemoryMarshal.AsBytes(vector.AsSpan()).ToArray()) : new JsonArray([.. vector.Select(v => (JsonNode)v)]);
            return (JsonNode)new JsonObject { ["object"] = "embedding", ["index"] = i, ["embedding"] = embedding };
        });
        await Write(context, new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray([.. data]),
            ["model"] = body["model"]?.GetValue<string>(),
            ["usage"] = new JsonObject { ["prompt_tokens"] = promptTokens, ["total_tokens"] = promptTokens },
        });
    });

    private static JsonObject Values(JsonObject request, int position)
    {
        var text = request["content"]!["parts"]![0]!["text"]!.GetValue<string>();
        var length = request["outputDimensionality"]?.GetValue<int>() ?? DefaultLength;
        return new JsonObject { ["values"] = new JsonArray([.. VectorFor(text, position, length).Select(v => (JsonNode)v)]) };
    }

    private static async Task Write(HttpContext context, JsonObject answer)
    {
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(answer.ToJsonString(), context.RequestAborted);
    }
}
