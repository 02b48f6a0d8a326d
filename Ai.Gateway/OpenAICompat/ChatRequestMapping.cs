using System.Text.Json;
using System.Text.RegularExpressions;
using Ai.Gateway.Policy;
using Ai.Gateway.Tools;
using Microsoft.Extensions.AI;

namespace Ai.Gateway.OpenAICompat;

/// <summary>A checked chat-completions request as Microsoft.Extensions.AI messages and options, ready for the gateway.</summary>
public sealed record ChatCompletionCall(
    List<ChatMessage> Messages,
    ChatOptions Options,
    ModelRouter.Decision Route,
    JsonSchemaValidator? Schema,
    bool WantsJson,
    bool Stream,
    bool IncludeUsage);

/// <summary>
/// Checks an OpenAI chat-completions request and maps it onto Microsoft.Extensions.AI: roles to
/// <see cref="ChatRole"/>, assistant <c>tool_calls</c> to <see cref="FunctionCallContent"/>, <c>tool</c>
/// messages to <see cref="FunctionResultContent"/>, function tools to declarations only (the client runs
/// them), <c>tool_choice</c>, <c>response_format</c> and the sampling fields to <see cref="ChatOptions"/>.
/// Every problem is collected with the field's path, so a bad request never reaches a provider.
/// </summary>
public static partial class ChatRequestMapping
{
    private const string Auto = "auto";

    /// <summary>Marks options whose caller asked for <c>reasoning_effort: "minimal"</c>.</summary>
    public const string MinimalReasoningKey = "gateway.reasoning.minimal";
    private static readonly JsonElement EmptyParameters = JsonSerializer.Deserialize<JsonElement>("""{"type":"object","properties":{}}""");

    public static ChatCompletionCall Map(ChatCompletionRequest request, ModelCatalog catalog, ModelRouter router)
    {
        ArgumentNullException.ThrowIfNull(request);
        var errors = new List<FieldError>();

        var messages = Messages(request.Messages, errors);
        var route = Route(request.Model, catalog, router, errors);
        var (tools, toolMode) = Tools(request, errors);
        var (format, schema) = ResponseFormat(request.ResponseFormat, errors);
        CheckUnsupported(request, errors);

        Range(errors, "temperature", request.Temperature, 0, 2);
        Range(errors, "top_p", request.TopP, 0, 1);
        Range(errors, "frequency_penalty", request.FrequencyPenalty, -2, 2);
        Range(errors, "presence_penalty", request.PresencePenalty, -2, 2);
        Range(errors, "max_tokens", request.MaxTokens, 1, 1_000_000);
        Range(errors, "max_completion_tokens", request.MaxCompletionTokens, 1, 1_000_000);
        if (request.MaxTokens is { } a && request.MaxCompletionTokens is { } b && a != b)
        {
            errors.Add(new("max_tokens", "Give max_completion_tokens or max_tokens, not two different values."));
        }

        var stop = Stop(request.Stop, errors);
        var reasoning = Reasoning(request.ReasoningEffort, errors);

        if (errors.Count > 0)
        {
            throw new ChatRequestException(errors);
        }

        var options = new ChatOptions
        {
            ModelId = route!.Model,
            Temperature = request.Temperature,
            TopP = request.TopP,
            MaxOutputTokens = request.MaxCompletionTokens ?? request.MaxTokens,
            StopSequences = stop,
            Seed = request.Seed,
            FrequencyPenalty = request.FrequencyPenalty,
            PresencePenalty = request.PresencePenalty,
            ResponseFormat = format,
            Tools = tools.Count > 0 ? tools : null,
            ToolMode = toolMode,
            AllowMultipleToolCalls = request.ParallelToolCalls,
            Reasoning = reasoning,
            // MEAI has no "minimal" effort: Low, marked, so the gateway can send Gemini's MINIMAL to models that have it.
            AdditionalProperties = request.ReasoningEffort == "minimal" ? new() { [MinimalReasoningKey] = true } : null,
        };
        return new ChatCompletionCall(messages, options, route, schema, format is ChatResponseFormatJson,
            request.Stream == true, request.Stream == true && request.StreamOptions?.IncludeUsage == true);
    }

    private static ModelRouter.Decision? Route(string? model, ModelCatalog catalog, ModelRouter router, List<FieldError> errors)
    {
        if (string.IsNullOrEmpty(model) || model == Auto)
        {
            return router.Route(null, null);
        }

        if (catalog.Find(model) is not { } known)
        {
            errors.Add(new("model", $"The model '{model}' does not exist. Use 'auto' or one of: {string.Join(", ", catalog.Models.Select(m => m.Id))}.",
                OpenAIErrors.ModelNotFound));
            return null;
        }

        if (ModelCatalog.WrongKind(known, Model.ModelKind.Chat) is { } wrongKind)
        {
            errors.Add(new("model", wrongKind, OpenAIErrors.WrongModelKind));
            return null;
        }

        return router.Route(model, null);
    }

    private static (List<AITool> Tools, ChatToolMode? Mode) Tools(ChatCompletionRequest request, List<FieldError> errors)
    {
        var tools = new List<AITool>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var declared = request.Tools ?? [];
        for (var j = 0; j < declared.Count; j++)
        {
            var path = $"tools[{j}]";
            var function = declared[j]?.Function;
            if (declared[j]?.Type != "function" || function is null)
            {
                errors.Add(new(declared[j]?.Type is "function" ? $"{path}.function" : $"{path}.type", "Each tool must be { \"type\": \"function\", \"function\": { \"name\", \"parameters\" } }."));
                continue;
            }

            if (function.Name is null || !ToolName().IsMatch(function.Name))
            {
                errors.Add(new($"{path}.function.name", "A function name is 1-64 letters, digits, '_' or '-'."));
                continue;
            }

            if (!names.Add(function.Name))
            {
                errors.Add(new($"{path}.function.name", $"The function '{function.Name}' is declared twice."));
                continue;
            }

            var parameters = IsAbsent(function.Parameters) ? EmptyParameters : function.Parameters!.Value;
            if (SchemaError(parameters) is { } schemaError)
            {
                errors.Add(new($"{path}.function.parameters", $"The parameters must be a JSON Schema object: {schemaError}"));
                continue;
            }

            tools.Add(AIFunctionFactory.CreateDeclaration(function.Name, function.Description, parameters.Clone()));
        }

        return (tools, ToolMode(request.ToolChoice, names, declared.Count > 0, errors));
    }

    private static ChatToolMode? ToolMode(JsonElement? choice, HashSet<string> names, bool hasTools, List<FieldError> errors)
    {
        if (IsAbsent(choice))
        {
            return null;
        }

        var value = choice!.Value;
        ChatToolMode? mode = value.ValueKind switch
        {
            JsonValueKind.String => value.GetString() switch
            {
                "none" => ChatToolMode.None,
                Auto => ChatToolMode.Auto,
                "required" => ChatToolMode.RequireAny,
                _ => null,
            },
            JsonValueKind.Object when StringProperty(value, "type") == "function"
                && value.TryGetProperty("function", out var function) && function.ValueKind == JsonValueKind.Object
                && StringProperty(function, "name") is { } name => names.Contains(name) || !hasTools
                    ? ChatToolMode.RequireSpecific(name)
                    : Error<ChatToolMode>(errors, new("tool_choice", $"tool_choice names '{name}', which is not among the tools.")),
            _ => null,
        };

        if (mode is null && errors.All(e => e.Param != "tool_choice"))
        {
            errors.Add(new("tool_choice", "tool_choice must be 'none', 'auto', 'required' or { \"type\": \"function\", \"function\": { \"name\" } }."));
        }
        else if (mode is not null and not NoneChatToolMode && !hasTools)
        {
            errors.Add(new("tool_choice", "tool_choice is only allowed when tools are given."));
        }

        return mode;
    }

    private static (ChatResponseFormat? Format, JsonSchemaValidator? Schema) ResponseFormat(ChatCompletionResponseFormat? format, List<FieldError> errors)
    {
        switch (format?.Type)
        {
            case null when format is null:
            case "text":
                return (null, null);
            case "json_object":
                return (ChatResponseFormat.Json, null);
            case "json_schema":
                var definition = format.JsonSchema;
                if (definition is null || IsAbsent(definition.Schema))
                {
                    errors.Add(new(definition is null ? "response_format.json_schema" : "response_format.json_schema.schema",
                        "A json_schema response format needs 'json_schema': { 'name', 'schema' }.", OpenAIErrors.MissingParameter));
                    return (null, null);
                }

                var schema = definition.Schema!.Value;
                if (schema.ValueKind != JsonValueKind.False && SchemaError(schema) is { } error)
                {
                    errors.Add(new("response_format.json_schema.schema", $"The schema must be a JSON Schema object: {error}"));
                    return (null, null);
                }

                // Valid, but no answer could match it, or it refers to something the gateway will not fetch.
                if (SchemaUsability.Problem(schema) is { } unusable)
                {
                    errors.Add(new("response_format.json_schema.schema", $"The schema cannot be used: {unusable}"));
                    return (null, null);
                }

                var validator = JsonSchemaValidator.Create(schema);
                return (ChatResponseFormat.ForJsonSchema(validator.Json, definition.Name, definition.Description), validator);
            default:
                errors.Add(new("response_format.type", "response_format.type must be text, json_object or json_schema."));
                return (null, null);
        }
    }

    private static List<string>? Stop(JsonElement? stop, List<FieldError> errors)
    {
        if (IsAbsent(stop))
        {
            return null;
        }

        var value = stop!.Value;
        if (value.ValueKind == JsonValueKind.String)
        {
            return [value.GetString()!];
        }

        if (value.ValueKind == JsonValueKind.Array && value.GetArrayLength() <= 4 && value.EnumerateArray().All(s => s.ValueKind == JsonValueKind.String))
        {
            return value.EnumerateArray().Select(s => s.GetString()!).ToList();
        }

        errors.Add(new("stop", "stop must be a string or an array of up to 4 strings."));
        return null;
    }

    private static ReasoningOptions? Reasoning(string? effort, List<FieldError> errors)
    {
        ReasoningEffort? level = effort switch
        {
            null => null,
            "none" => ReasoningEffort.None,
            "minimal" or "low" => ReasoningEffort.Low,
            "medium" => ReasoningEffort.Medium,
            "high" => ReasoningEffort.High,
            _ => null,
        };
        if (effort is not null && level is null)
        {
            errors.Add(new("reasoning_effort", "reasoning_effort must be none, minimal, low, medium or high."));
        }

        return level is { } l ? new ReasoningOptions { Effort = l } : null;
    }

    private static void CheckUnsupported(ChatCompletionRequest request, List<FieldError> errors)
    {
        if (request.N is { } n && n != 1)
        {
            errors.Add(new("n", "Only n = 1 is supported.", OpenAIErrors.UnsupportedValue));
        }

        if (request.Modalities is { } modalities && modalities.Any(m => m != "text"))
        {
            errors.Add(new("modalities", "Only the text modality is supported.", OpenAIErrors.UnsupportedValue));
        }

        if (request.Logprobs == true)
        {
            errors.Add(new("logprobs", "Log probabilities are not supported.", OpenAIErrors.UnsupportedParameter));
        }

        if (request.TopLogprobs is not null)
        {
            errors.Add(new("top_logprobs", "Log probabilities are not supported.", OpenAIErrors.UnsupportedParameter));
        }

        if (request.LogitBias is { ValueKind: JsonValueKind.Object } bias && bias.EnumerateObject().Any())
        {
            errors.Add(new("logit_bias", "logit_bias is not supported.", OpenAIErrors.UnsupportedParameter));
        }

        Unsupported(errors, "audio", request.Audio, "Audio output is not supported.");
        Unsupported(errors, "prediction", request.Prediction, "Predicted outputs are not supported.");
        Unsupported(errors, "web_search_options", request.WebSearchOptions, "Web search is not supported.");
        Unsupported(errors, "functions", request.Functions, "Legacy functions are not supported; use tools.");
        Unsupported(errors, "function_call", request.FunctionCall, "Legacy function_call is not supported; use tool_choice.");
    }

    private static void Unsupported(List<FieldError> errors, string param, JsonElement? value, string message)
    {
        if (!IsAbsent(value))
        {
            errors.Add(new(param, message, OpenAIErrors.UnsupportedParameter));
        }
    }

    private static void Range<T>(List<FieldError> errors, string param, T? value, T min, T max) where T : struct, IComparable<T>
    {
        if (value is { } v && (v.CompareTo(min) < 0 || v.CompareTo(max) > 0))
        {
            errors.Add(new(param, $"{param} must be between {min} and {max}."));
        }
    }

    private static string? SchemaError(JsonElement schema) =>
        schema.ValueKind != JsonValueKind.Object ? $"not {schema.ValueKind.ToString().ToLowerInvariant()}."
        : JsonSchemaValidator.TryCreate(schema, out _, out var error) ? null
        : error;

    private static bool IsAbsent(JsonElement? value) => value is null || value.Value.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined;

    private static string? StringProperty(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static ChatMessage? Error(List<FieldError> errors, FieldError error) => Error<ChatMessage>(errors, error);

    private static T? Error<T>(List<FieldError> errors, FieldError error) where T : class
    {
        errors.Add(error);
        return default;
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex ToolName();
}
