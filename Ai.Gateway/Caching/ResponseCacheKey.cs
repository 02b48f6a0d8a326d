using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Ai.Gateway.Caching;

/// <summary>
/// The Redis key of a request's cached answer: a SHA-256 over the normalized request — a format version, the API it came
/// through, the caller, the model, every message with every content, the sampling parameters, the response format and
/// schema, the tools (name, description, parameter schema) and the tool mode. One plain key per entry (no hash tag
/// needed: it is only ever read or written alone), so it is cluster-safe.
/// </summary>
public static class ResponseCacheKey
{
    /// <summary>Raise it when what is hashed, or how an entry is stored, changes: old entries then simply miss.</summary>
    public const int Version = 1;

    public const string Prefix = "gateway:cache:v1:";

    public static string For(IEnumerable<ChatMessage> messages, ChatOptions options, ResponseCacheCall call)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("v", Version);
            json.WriteString("surface", call.Surface);
            json.WriteString("caller", call.Caller);
            json.WriteString("model", options.ModelId);
            json.WritePropertyName("messages");
            json.WriteStartArray();
            foreach (var message in messages)
            {
                json.WriteStartObject();
                json.WriteString("role", message.Role.Value);
                json.WriteString("name", message.AuthorName);
                json.WritePropertyName("contents");
                json.WriteStartArray();
                foreach (var content in message.Contents)
                {
                    WriteContent(json, content);
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            WriteParameters(json, options);
            json.WriteEndObject();
        }

        return Prefix + Convert.ToHexStringLower(SHA256.HashData(buffer.WrittenSpan));
    }

    private static void WriteContent(Utf8JsonWriter json, AIContent content)
    {
        switch (content)
        {
            case TextContent text:
                json.WriteStartObject();
                json.WriteString("text", text.Text);
                json.WriteEndObject();
                break;
            case FunctionCallContent call:
                json.WriteStartObject();
                json.WriteString("call", call.Name);
                json.WriteString("id", call.CallId);
                json.WritePropertyName("arguments");
                JsonSerializer.Serialize(json, call.Arguments, AIJsonUtilities.DefaultOptions);
                json.WriteEndObject();
                break;
            case FunctionResultContent result:
                json.WriteStartObject();
                json.WriteString("result", result.CallId);
                json.WritePropertyName("value");
                JsonSerializer.Serialize(json, result.Result, AIJsonUtilities.DefaultOptions);
                json.WriteEndObject();
                break;
            default:
                // Images, files and anything newer: their own JSON form (the type discriminator included).
                JsonSerializer.Serialize(json, content, AIJsonUtilities.DefaultOptions);
                break;
        }
    }

    private static void WriteParameters(Utf8JsonWriter json, ChatOptions options)
    {
        WriteNumber(json, "temperature", options.Temperature);
        WriteNumber(json, "topP", options.TopP);
        json.WriteString("instructions", options.Instructions);
        WriteNumber(json, "topK", options.TopK);
        WriteNumber(json, "maxOutputTokens", options.MaxOutputTokens);
        WriteNumber(json, "frequencyPenalty", options.FrequencyPenalty);
        WriteNumber(json, "presencePenalty", options.PresencePenalty);
        if (options.Seed is { } seed)
        {
            json.WriteNumber("seed", seed);
        }

        if (options.StopSequences is { Count: > 0 } stop)
        {
            json.WritePropertyName("stop");
            JsonSerializer.Serialize(json, stop, AIJsonUtilities.DefaultOptions);
        }

        switch (options.ResponseFormat)
        {
            case ChatResponseFormatJson format:
                json.WriteStartObject("responseFormat");
                json.WriteString("type", "json");
                json.WriteString("name", format.SchemaName);
                json.WriteString("description", format.SchemaDescription);
                if (format.Schema is { } schema)
                {
                    json.WritePropertyName("schema");
                    schema.WriteTo(json);
                }

                json.WriteEndObject();
                break;
            case ChatResponseFormatText:
                json.WriteString("responseFormat", "text");
                break;
        }

        if (options.Tools is { Count: > 0 } tools)
        {
            json.WriteStartArray("tools");
            foreach (var tool in tools)
            {
                json.WriteStartObject();
                json.WriteString("name", tool.Name);
                json.WriteString("description", tool.Description);
                json.WriteString("kind", tool.GetType().Name);
                if (tool is AIFunctionDeclaration function)
                {
                    json.WritePropertyName("parameters");
                    function.JsonSchema.WriteTo(json);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        json.WriteString("toolMode", options.ToolMode switch
        {
            null => null,
            NoneChatToolMode => "none",
            AutoChatToolMode => "auto",
            RequiredChatToolMode { RequiredFunctionName: { } name } => "required:" + name,
            RequiredChatToolMode => "required",
            var other => other.GetType().Name,
        });
        if (options.AllowMultipleToolCalls is { } multiple)
        {
            json.WriteBoolean("allowMultipleToolCalls", multiple);
        }

        if (options.Reasoning is { } reasoning)
        {
            json.WriteStartObject("reasoning");
            json.WriteString("effort", reasoning.Effort?.ToString());
            json.WriteString("output", reasoning.Output?.ToString());
            json.WriteEndObject();
        }

        // Flags other layers read (e.g. "minimal" reasoning): plain values only; the gateway's own objects (call context,
        // JSON request, this cache call) are per-request state, not part of what is asked.
        json.WriteStartObject("extra");
        foreach (var (name, value) in (options.AdditionalProperties ?? []).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            switch (value)
            {
                case string s:
                    json.WriteString(name, s);
                    break;
                case bool b:
                    json.WriteBoolean(name, b);
                    break;
                case int or long or double or float or decimal:
                    json.WriteString(name, Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture));
                    break;
            }
        }

        json.WriteEndObject();
    }

    private static void WriteNumber(Utf8JsonWriter json, string name, double? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, v);
        }
    }
}
