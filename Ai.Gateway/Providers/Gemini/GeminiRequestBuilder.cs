using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace Ai.Gateway.Providers.Gemini;

/// <summary>Maps Microsoft.Extensions.AI messages and options onto a Gemini <c>GenerateContentRequest</c>.</summary>
internal static class GeminiRequestBuilder
{
    /// <summary>
    /// Ids the client made up because Gemini sent a call without one. They are never sent back as
    /// <c>id</c>: the model did not produce them, and only the name links a response to its call then.
    /// </summary>
    public const string SynthesizedCallIdPrefix = "gemini-call-";

    // The documented dummy for calls that carry no signature (history from another model or
    // provider). The field is proto bytes, so the magic word travels base64-encoded, as Google's SDK sends it.
    public static readonly string SkipThoughtSignature = Convert.ToBase64String("skip_thought_signature_validator"u8);

    /// <param name="raw">
    /// A partial request from <see cref="ChatOptions.RawRepresentationFactory"/> (e.g. <c>safetySettings</c>,
    /// <c>cachedContent</c>, <c>generationConfig.thinkingConfig</c>). Its fields win; MEAI's options fill the rest.
    /// </param>
    public static JsonObject Build(IEnumerable<ChatMessage> messages, ChatOptions? options, JsonObject? raw = null)
    {
        var request = new JsonObject();
        var system = new JsonArray();
        var contents = new JsonArray();
        var callNames = new Dictionary<string, string>(StringComparer.Ordinal);
        string? lastCallName = null;

        if (!string.IsNullOrWhiteSpace(options?.Instructions))
        {
            system.Add(new JsonObject { ["text"] = options.Instructions });
        }

        foreach (var message in messages)
        {
            if (message.Role == ChatRole.System)
            {
                if (!string.IsNullOrWhiteSpace(message.Text))
                {
                    system.Add(new JsonObject { ["text"] = message.Text });
                }

                continue;
            }

            var parts = Parts(message.Contents, callNames, ref lastCallName);
            if (parts.Count > 0)
            {
                // Gemini knows only "user" and "model": tool results travel as functionResponse parts of a user turn.
                contents.Add(new JsonObject
                {
                    ["role"] = message.Role == ChatRole.Assistant ? "model" : "user",
                    ["parts"] = parts,
                });
            }
        }

        if (contents.Count == 0)
        {
            // An empty request always fails; send one empty user turn instead.
            contents.Add(new JsonObject { ["role"] = "user", ["parts"] = new JsonArray(new JsonObject { ["text"] = "" }) });
        }

        request["contents"] = contents;
        if (system.Count > 0)
        {
            request["systemInstruction"] = new JsonObject { ["parts"] = system };
        }

        AddTools(request, options);
        if (GenerationConfig(options) is { Count: > 0 } config)
        {
            request["generationConfig"] = config;
        }

        return raw is null ? request : Overlay(raw, request);
    }

    // Copies what the caller did not set into the caller's request, one level deep for objects.
    private static JsonObject Overlay(JsonObject raw, JsonObject built)
    {
        var result = (JsonObject)raw.DeepClone();
        foreach (var (key, value) in built)
        {
            if (result[key] is JsonObject mine && value is JsonObject theirs)
            {
                foreach (var (name, inner) in theirs)
                {
                    mine.TryAdd(name, inner?.DeepClone());
                }
            }
            else
            {
                result.TryAdd(key, value?.DeepClone());
            }
        }

        return result;
    }

    private static JsonArray Parts(IList<AIContent> contents, Dictionary<string, string> callNames, ref string? lastCallName)
    {
        var parts = new JsonArray();
        for (var i = 0; i < contents.Count; i++)
        {
            var content = contents[i];

            // A signature travels as a TextReasoningContent right after the content it belongs to.
            string? signature = null;
            if (content is not TextReasoningContent { ProtectedData: not null }
                && i + 1 < contents.Count
                && contents[i + 1] is TextReasoningContent { ProtectedData: { } nextSignature } next
                && string.IsNullOrEmpty(next.Text))
            {
                signature = nextSignature;
                i++;
            }

            JsonObject? part = null;
            switch (content)
            {
                case TextContent text:
                    part = new JsonObject { ["text"] = text.Text };
                    break;

                case TextReasoningContent reasoning when !string.IsNullOrEmpty(reasoning.Text) || reasoning.ProtectedData is not null:
                    part = new JsonObject { ["thought"] = true };
                    if (!string.IsNullOrEmpty(reasoning.Text))
                    {
                        part["text"] = reasoning.Text;
                    }

                    signature ??= reasoning.ProtectedData;
                    break;

                case DataContent data:
                    part = new JsonObject
                    {
                        ["inlineData"] = new JsonObject { ["mimeType"] = data.MediaType, ["data"] = Convert.ToBase64String(data.Data.Span) },
                    };
                    break;

                case UriContent uri:
                    part = new JsonObject
                    {
                        ["fileData"] = new JsonObject { ["mimeType"] = uri.MediaType, ["fileUri"] = uri.Uri.AbsoluteUri },
                    };
                    break;

                case FunctionCallContent call:
                    callNames[call.CallId] = call.Name;
                    lastCallName = call.Name;
                    var functionCall = new JsonObject
                    {
                        ["name"] = call.Name,
                        ["args"] = call.Arguments is null ? new JsonObject() : ToNode(call.Arguments),
                    };
                    AddId(functionCall, call.CallId);
                    part = new JsonObject { ["functionCall"] = functionCall };
                    // Gemini 3 rejects a replayed call without its signature; a call from elsewhere gets the dummy.
                    signature ??= SkipThoughtSignature;
                    break;

                case FunctionResultContent result:
                    var functionResponse = new JsonObject
                    {
                        // functionResponse.name is required, and MEAI's result knows only the call id.
                        ["name"] = callNames.GetValueOrDefault(result.CallId) ?? lastCallName ?? "function",
                        ["response"] = ResultObject(result),
                    };
                    AddId(functionResponse, result.CallId);
                    part = new JsonObject { ["functionResponse"] = functionResponse };
                    break;
            }

            if (part is not null)
            {
                if (signature is not null)
                {
                    part["thoughtSignature"] = signature;
                }

                parts.Add(part);
            }
        }

        return parts;
    }

    private static void AddId(JsonObject target, string? callId)
    {
        if (!string.IsNullOrEmpty(callId) && !callId.StartsWith(SynthesizedCallIdPrefix, StringComparison.Ordinal))
        {
            target["id"] = callId;
        }
    }

    // "response" must be a JSON object; Gemini reads the result under "output" and a failure under "error".
    private static JsonObject ResultObject(FunctionResultContent result)
    {
        if (result.Exception is not null)
        {
            return new JsonObject { ["error"] = result.Exception.Message };
        }

        return result.Result switch
        {
            null => new JsonObject(),
            TextContent text => new JsonObject { ["output"] = text.Text },
            var value => new JsonObject { ["output"] = ToNode(value) },
        };
    }

    private static void AddTools(JsonObject request, ChatOptions? options)
    {
        var declarations = new JsonArray();
        foreach (var function in options?.Tools?.OfType<AIFunctionDeclaration>() ?? [])
        {
            // parametersJsonSchema takes standard JSON Schema (type arrays for nullables, $defs...);
            // the legacy "parameters" field rejects what MEAI generates.
            declarations.Add(new JsonObject
            {
                ["name"] = function.Name,
                ["description"] = function.Description ?? "",
                ["parametersJsonSchema"] = JsonNode.Parse(function.JsonSchema.GetRawText()),
            });
        }

        if (declarations.Count == 0)
        {
            return;
        }

        // All declarations go in one Tool, as Gemini expects.
        request["tools"] = new JsonArray(new JsonObject { ["functionDeclarations"] = declarations });

        var calling = options!.ToolMode switch
        {
            NoneChatToolMode => new JsonObject { ["mode"] = "NONE" },
            AutoChatToolMode => new JsonObject { ["mode"] = "AUTO" },
            RequiredChatToolMode { RequiredFunctionName: { } name } => new JsonObject
            {
                ["mode"] = "ANY",
                ["allowedFunctionNames"] = new JsonArray(name),
            },
            RequiredChatToolMode => new JsonObject { ["mode"] = "ANY" },
            _ => null,
        };
        if (calling is not null)
        {
            request["toolConfig"] = new JsonObject { ["functionCallingConfig"] = calling };
        }
    }

    private static JsonObject GenerationConfig(ChatOptions? options)
    {
        var config = new JsonObject();
        if (options is null)
        {
            return config;
        }

        Set(config, "temperature", options.Temperature);
        Set(config, "topP", options.TopP);
        Set(config, "topK", options.TopK);
        Set(config, "maxOutputTokens", options.MaxOutputTokens);
        Set(config, "seed", options.Seed);
        Set(config, "presencePenalty", options.PresencePenalty);
        Set(config, "frequencyPenalty", options.FrequencyPenalty);
        if (options.StopSequences is { Count: > 0 } stops)
        {
            config["stopSequences"] = new JsonArray(stops.Select(s => (JsonNode?)JsonValue.Create(s)).ToArray());
        }

        if (options.ResponseFormat is ChatResponseFormatJson json)
        {
            config["responseMimeType"] = "application/json";
            if (json.Schema is { } schema)
            {
                // Standard JSON Schema; the OpenAPI-subset responseSchema would need upper-case types.
                config["responseJsonSchema"] = JsonNode.Parse(schema.GetRawText());
            }
        }

        if (options.Reasoning is { } reasoning)
        {
            var thinking = new JsonObject();
            switch (reasoning.Effort)
            {
                case ReasoningEffort.None:
                    thinking["thinkingBudget"] = 0;
                    break;
                case ReasoningEffort.Low:
                    thinking["thinkingLevel"] = "LOW";
                    break;
                case ReasoningEffort.Medium:
                    thinking["thinkingLevel"] = "MEDIUM";
                    break;
                case ReasoningEffort.High or ReasoningEffort.ExtraHigh:
                    thinking["thinkingLevel"] = "HIGH";
                    break;
            }

            if (reasoning.Output is { } output && output != ReasoningOutput.None)
            {
                thinking["includeThoughts"] = true;
            }

            if (thinking.Count > 0)
            {
                config["thinkingConfig"] = thinking;
            }
        }

        return config;
    }

    private static void Set<T>(JsonObject target, string name, T? value) where T : struct
    {
        if (value is { } v)
        {
            target[name] = JsonValue.Create(v);
        }
    }

    private static JsonNode? ToNode(object value) => value switch
    {
        JsonNode node => node.DeepClone(),
        JsonElement element => JsonNode.Parse(element.GetRawText()),
        string text => JsonValue.Create(text),
        _ => JsonSerializer.SerializeToNode(value, value.GetType(), AIJsonUtilities.DefaultOptions),
    };
}
