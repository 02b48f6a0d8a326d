using System.Text.Json.Nodes;

namespace Ai.Gateway.Tests.Fakes;

/// <summary>Gemini-shaped bodies and replies: answers, stream chunks, and the error bodies Google sends.</summary>
public static class GeminiReplies
{
    public const string PerMinuteQuota = "GenerateRequestsPerMinutePerProjectPerModel";
    public const string PerDayQuota = "GenerateRequestsPerDayPerProjectPerModel-FreeTier";

    /// <summary>A text part.</summary>
    public static JsonObject TextPart(string text, string? thoughtSignature = null) => WithSignature(new JsonObject { ["text"] = text }, thoughtSignature);

    /// <summary>A functionCall part; <paramref name="id"/> null means Gemini 2.x style (no id).</summary>
    public static JsonObject CallPart(string name, JsonObject? args = null, string? id = null, string? thoughtSignature = null)
    {
        var call = new JsonObject { ["name"] = name, ["args"] = args ?? [] };
        if (id is not null)
        {
            call["id"] = id;
        }

        return WithSignature(new JsonObject { ["functionCall"] = call }, thoughtSignature);
    }

    public static JsonObject Usage(int prompt, int candidates, int? thoughts = null, int? cached = null)
    {
        var usage = new JsonObject
        {
            ["promptTokenCount"] = prompt,
            ["candidatesTokenCount"] = candidates,
            ["totalTokenCount"] = prompt + candidates + (thoughts ?? 0),
        };
        if (thoughts is not null)
        {
            usage["thoughtsTokenCount"] = thoughts;
        }

        if (cached is not null)
        {
            usage["cachedContentTokenCount"] = cached;
        }

        return usage;
    }

    /// <summary>A GenerateContentResponse with one candidate made of <paramref name="parts"/>.</summary>
    public static JsonObject Response(IEnumerable<JsonObject> parts, string? finishReason = "STOP", JsonObject? usage = null,
        string modelVersion = "gemini-test-001", string responseId = "resp-1")
    {
        var candidate = new JsonObject { ["content"] = new JsonObject { ["role"] = "model", ["parts"] = new JsonArray([.. parts]) } };
        if (finishReason is not null)
        {
            candidate["finishReason"] = finishReason;
        }

        var response = new JsonObject
        {
            ["candidates"] = new JsonArray(candidate),
            ["modelVersion"] = modelVersion,
            ["responseId"] = responseId,
        };
        if (usage is not null)
        {
            response["usageMetadata"] = usage;
        }

        return response;
    }

    public static FakeReply Text(string text, string finishReason = "STOP") =>
        FakeReply.Json(Response([TextPart(text)], finishReason, Usage(10, 5)).ToJsonString());

    public static FakeReply Parts(params JsonObject[] parts) =>
        FakeReply.Json(Response(parts, "STOP", Usage(10, 5)).ToJsonString());

    /// <summary>An SSE stream of GenerateContentResponse chunks.</summary>
    public static FakeReply Stream(IEnumerable<JsonObject> chunks, string newline = "\r\n", bool thenStall = false) =>
        FakeReply.Sse(chunks.Select(c => c.ToJsonString()), newline, thenStall);

    /// <summary>A Google RPC error body: <c>{"error":{code,message,status,details}}</c>.</summary>
    public static JsonObject ErrorBody(int code, string status, string message, params JsonObject[] details)
    {
        var error = new JsonObject { ["code"] = code, ["message"] = message, ["status"] = status };
        if (details.Length > 0)
        {
            error["details"] = new JsonArray([.. details]);
        }

        return new JsonObject { ["error"] = error };
    }

    public static FakeReply Error(int code, string status, string message, params JsonObject[] details) =>
        FakeReply.Json(ErrorBody(code, status, message, details).ToJsonString(), code);

    public static JsonObject RetryInfo(string retryDelay) => new()
    {
        ["@type"] = "type.googleapis.com/google.rpc.RetryInfo",
        ["retryDelay"] = retryDelay,
    };

    public static JsonObject QuotaFailure(string quotaId) => new()
    {
        ["@type"] = "type.googleapis.com/google.rpc.QuotaFailure",
        ["violations"] = new JsonArray(new JsonObject
        {
            ["quotaMetric"] = "generativelanguage.googleapis.com/generate_content_requests",
            ["quotaId"] = quotaId,
            ["quotaDimensions"] = new JsonObject { ["location"] = "global", ["model"] = "gemini-test" },
            ["quotaValue"] = "10",
        }),
    };

    public static JsonObject ErrorInfo(string reason) => new()
    {
        ["@type"] = "type.googleapis.com/google.rpc.ErrorInfo",
        ["reason"] = reason,
        ["domain"] = "googleapis.com",
    };

    /// <summary>429 against a per-minute limit, with RetryInfo (as Gemini sends it).</summary>
    public static FakeReply RateLimited(string retryDelay = "26s") =>
        Error(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota. Please retry in " + retryDelay + ".",
            QuotaFailure(PerMinuteQuota), RetryInfo(retryDelay));

    /// <summary>429 against the daily quota: no RetryInfo, only the quota id says "PerDay".</summary>
    public static FakeReply QuotaExhausted() =>
        Error(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your plan and billing details.",
            QuotaFailure(PerDayQuota));

    private static JsonObject WithSignature(JsonObject part, string? signature)
    {
        if (signature is not null)
        {
            part["thoughtSignature"] = signature;
        }

        return part;
    }
}
