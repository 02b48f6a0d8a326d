using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Ai.Gateway.OpenAICompat;

// The messages: roles, content parts, assistant tool calls and the tool results that answer them.
public static partial class ChatRequestMapping
{
    private static List<ChatMessage> Messages(IReadOnlyList<ChatCompletionMessage?>? list, List<FieldError> errors)
    {
        var messages = new List<ChatMessage>();
        if (list is null || list.Count == 0)
        {
            errors.Add(new("messages", list is null ? "Missing required parameter: 'messages'." : "'messages' must hold at least one message.",
                list is null ? OpenAIErrors.MissingParameter : OpenAIErrors.InvalidValue));
            return messages;
        }

        var callIds = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < list.Count; i++)
        {
            var path = $"messages[{i}]";
            if (list[i] is not { } message)
            {
                errors.Add(new(path, "Each message must be an object."));
                continue;
            }

            Unsupported(errors, $"{path}.function_call", message.FunctionCall, "Legacy function calls are not supported; use tool_calls.");
            Unsupported(errors, $"{path}.audio", message.Audio, "Audio is not supported.");
            var mapped = message.Role switch
            {
                "system" or "developer" => Plain(ChatRole.System, message, path, errors),
                "user" => new ChatMessage(ChatRole.User, Contents(message.Content, path, "user", errors, required: true)),
                "assistant" => Assistant(message, path, callIds, errors),
                "tool" => Tool(message, path, callIds, errors),
                null => Error(errors, new($"{path}.role", "Missing required parameter: 'role'.", OpenAIErrors.MissingParameter)),
                "function" => Error(errors, new($"{path}.role", "The 'function' role is not supported; use 'tool' messages.", OpenAIErrors.UnsupportedValue)),
                var other => Error(errors, new($"{path}.role", $"Invalid role '{other}'; one of: system, developer, user, assistant, tool.")),
            };
            if (mapped is not null)
            {
                mapped.AuthorName = string.IsNullOrEmpty(message.Name) ? null : message.Name;
                messages.Add(mapped);
            }
        }

        return messages;
    }

    private static ChatMessage Plain(ChatRole role, ChatCompletionMessage message, string path, List<FieldError> errors) =>
        new(role, Contents(message.Content, path, role.Value, errors, required: true));

    private static ChatMessage Assistant(ChatCompletionMessage message, string path, HashSet<string> callIds, List<FieldError> errors)
    {
        var contents = Contents(message.Content, path, "assistant", errors, required: false);
        var calls = message.ToolCalls ?? [];
        for (var j = 0; j < calls.Count; j++)
        {
            if (ToolCall(calls[j], $"{path}.tool_calls[{j}]", errors) is { } call)
            {
                callIds.Add(call.CallId);
                contents.Add(call);
            }
        }

        if (IsAbsent(message.Content) && calls.Count == 0)
        {
            errors.Add(new($"{path}.content", "An assistant message needs content or tool_calls.", OpenAIErrors.MissingParameter));
        }

        return new ChatMessage(ChatRole.Assistant, contents);
    }

    private static FunctionCallContent? ToolCall(ChatCompletionToolCall? call, string path, List<FieldError> errors)
    {
        if (call is null)
        {
            return Error<FunctionCallContent>(errors, new(path, "Each tool call must be an object."));
        }

        if (call.Type is not null and not "function")
        {
            return Error<FunctionCallContent>(errors, new($"{path}.type", "Only 'function' tool calls are supported.", OpenAIErrors.UnsupportedValue));
        }

        if (string.IsNullOrEmpty(call.Id))
        {
            return Error<FunctionCallContent>(errors, new($"{path}.id", "Missing required parameter: 'id'.", OpenAIErrors.MissingParameter));
        }

        if (string.IsNullOrEmpty(call.Function?.Name))
        {
            return Error<FunctionCallContent>(errors, new($"{path}.function.name", "Missing required parameter: 'function.name'.", OpenAIErrors.MissingParameter));
        }

        var arguments = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (!string.IsNullOrWhiteSpace(call.Function.Arguments))
        {
            try
            {
                using var document = JsonDocument.Parse(call.Function.Arguments);
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                {
                    return Error<FunctionCallContent>(errors, new($"{path}.function.arguments", "The arguments must be a JSON object, serialized as a string."));
                }

                foreach (var property in document.RootElement.EnumerateObject())
                {
                    arguments[property.Name] = property.Value.Clone();
                }
            }
            catch (JsonException)
            {
                return Error<FunctionCallContent>(errors, new($"{path}.function.arguments", "The arguments are not valid JSON."));
            }
        }

        return new FunctionCallContent(call.Id, call.Function.Name, arguments);
    }

    private static ChatMessage? Tool(ChatCompletionMessage message, string path, HashSet<string> callIds, List<FieldError> errors)
    {
        var contents = Contents(message.Content, path, "tool", errors, required: true);
        if (string.IsNullOrEmpty(message.ToolCallId))
        {
            return Error(errors, new($"{path}.tool_call_id", "Missing required parameter: 'tool_call_id'.", OpenAIErrors.MissingParameter));
        }

        if (!callIds.Contains(message.ToolCallId))
        {
            return Error(errors, new($"{path}.tool_call_id",
                $"'{message.ToolCallId}' answers no tool call of an earlier assistant message; a 'tool' message must answer one."));
        }

        // The result travels as the text the client sent; providers wrap it as they need (Gemini: { "output": ... }).
        var result = string.Concat(contents.OfType<TextContent>().Select(t => t.Text));
        return new ChatMessage(ChatRole.Tool, [new FunctionResultContent(message.ToolCallId, result)]);
    }

    // A string, or parts: text everywhere, image_url in user messages, refusal (ignored) in assistant messages.
    private static List<AIContent> Contents(JsonElement? content, string path, string role, List<FieldError> errors, bool required)
    {
        var contents = new List<AIContent>();
        if (IsAbsent(content))
        {
            if (required)
            {
                errors.Add(new($"{path}.content", "Missing required parameter: 'content'.", OpenAIErrors.MissingParameter));
            }

            return contents;
        }

        var value = content!.Value;
        if (value.ValueKind == JsonValueKind.String)
        {
            contents.Add(new TextContent(value.GetString()));
            return contents;
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            errors.Add(new($"{path}.content", "The content must be a string or an array of content parts."));
            return contents;
        }

        var index = 0;
        foreach (var part in value.EnumerateArray())
        {
            var partPath = $"{path}.content[{index++}]";
            var type = part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            switch (type)
            {
                case "text" when StringProperty(part, "text") is { } text:
                    contents.Add(new TextContent(text));
                    break;
                case "text":
                    errors.Add(new($"{partPath}.text", "A text part needs a string 'text'.", OpenAIErrors.MissingParameter));
                    break;
                case "refusal" when role == "assistant":
                    break;
                case "image_url" when role == "user":
                    if (Image(part, partPath, errors) is { } image)
                    {
                        contents.Add(image);
                    }

                    break;
                case "image_url" or "input_audio" or "file" or "refusal":
                    errors.Add(new($"{partPath}.type", $"'{type}' parts are not supported in {role} messages.", OpenAIErrors.UnsupportedValue));
                    break;
                default:
                    errors.Add(new($"{partPath}.type", "Each content part needs a type: text (or image_url in user messages)."));
                    break;
            }
        }

        return contents;
    }

    private static AIContent? Image(JsonElement part, string path, List<FieldError> errors)
    {
        var url = part.TryGetProperty("image_url", out var image) && image.ValueKind == JsonValueKind.Object ? StringProperty(image, "url") : null;
        if (url is null)
        {
            return Error<AIContent>(errors, new($"{path}.image_url.url", "An image_url part needs 'image_url': { 'url' }.", OpenAIErrors.MissingParameter));
        }

        if (url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                return new DataContent(url);
            }
            catch (Exception e) when (e is ArgumentException or FormatException or UriFormatException)
            {
                return Error<AIContent>(errors, new($"{path}.image_url.url", "The data URL is not valid."));
            }
        }

        return Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
            ? new UriContent(uri, ImageMediaType(uri))
            : Error<AIContent>(errors, new($"{path}.image_url.url", "The image URL must be an http(s) URL or a data URL."));
    }

    // Providers that fetch by URL want a concrete type where one can be told from the name.
    private static string ImageMediaType(Uri uri) => Path.GetExtension(uri.AbsolutePath).ToLowerInvariant() switch
    {
        ".png" => "image/png",
        ".jpg" or ".jpeg" => "image/jpeg",
        ".webp" => "image/webp",
        ".gif" => "image/gif",
        _ => "image/*",
    };
}
