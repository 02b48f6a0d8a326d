using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ai.Gateway.Caching;
using Ai.Gateway.Model;
using Ai.Gateway.Policy;
using Ai.Gateway.Prompts;
using Ai.Gateway.Providers;
using Ai.Gateway.Tools;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace Ai.Gateway.Generation;

/// <summary>
/// Turns a generate request into model calls through the gateway policy: builds the conversation
/// (preset, prompt format, messages), routes it, lets the model call the requested tools (bounded
/// rounds, validated arguments and results), checks JSON answers against the schema with one
/// repair attempt, and reports model, attempts, usage, cost and latency.
/// </summary>
public sealed class GenerationService
{
    private static readonly string[] Roles = ["system", "user", "assistant"];
    private readonly IChatClient _pipeline;
    private readonly ModelRouter _router;
    private readonly ModelCatalog _catalog;
    private readonly IPromptLibrary _prompts;
    private readonly ToolRuntime _tools;
    private readonly GatewayPolicyOptions _options;
    private readonly TimeProvider _time;

    public GenerationService(GatewayChatClient gateway, ModelRouter router, ModelCatalog catalog, IPromptLibrary prompts, ToolRuntime tools,
        IOptions<GatewayPolicyOptions> options, TimeProvider time, ILoggerFactory loggers, ResponseCache cache)
    {
        _router = router;
        _catalog = catalog;
        _prompts = prompts;
        _tools = tools;
        _options = options.Value;
        _time = time;
        // Outermost the cache: it keeps the final answer, after the tool rounds and the JSON repair.
        _pipeline = gateway.AsBuilder()
            .Use(inner => new ResponseCacheChatClient(inner, cache))
            .Use(inner => new JsonRepairChatClient(inner))
            .UseFunctionInvocation(loggers, f =>
            {
                f.MaximumIterationsPerRequest = _options.MaxToolIterations;
                f.IncludeDetailedErrors = false;
            })
            .Build();
    }

    /// <summary>
    /// The chat pipeline of <c>/v1/generate</c> (the gateway policy, then the JSON check with one repair, the tool rounds
    /// and the response cache): the hosted agents run on it too (<see cref="Agents.HostedAgentChatClient"/>).
    /// </summary>
    public IChatClient Pipeline => _pipeline;

    /// <summary>A checked request, ready to send.</summary>
    public sealed record Prepared(List<ChatMessage> Messages, ChatOptions Options, ModelRouter.Decision Route, JsonSchemaValidator? Schema, bool WantsJson);

    public Prepared Prepare(GenerateRequest request)
    {
        var errors = new Dictionary<string, string[]>();
        var messages = new List<ChatMessage>();

        if (!PromptLanguages.TryParse(request.Language, out var language))
        {
            errors["language"] = ["One of: en, ar."];
        }

        if (request.Preset is { } presetName)
        {
            if (_prompts.GetPreset(presetName, language) is { } preset)
            {
                messages.AddRange(preset.ToChatMessages());
            }
            else
            {
                errors["preset"] = [$"Unknown preset; one of: {string.Join(", ", _prompts.Presets.Select(p => p.Name))}."];
            }
        }

        if (!string.IsNullOrWhiteSpace(request.System))
        {
            messages.Add(new ChatMessage(ChatRole.System, request.System));
        }

        JsonElement? formatSchema = null;
        var sources = (request.Input is not null ? 1 : 0) + (request.Messages is not null ? 1 : 0) + (request.Prompt is not null ? 1 : 0);
        if (sources != 1)
        {
            errors["input"] = ["Give exactly one of 'input', 'messages' or 'prompt'."];
        }
        else if (request.Input is { } input)
        {
            if (string.IsNullOrWhiteSpace(input))
            {
                errors["input"] = ["The input is empty."];
            }

            messages.Add(new ChatMessage(ChatRole.User, input));
        }
        else if (request.Messages is { } conversation)
        {
            if (conversation.Count == 0)
            {
                errors["messages"] = ["At least one message."];
            }

            for (var i = 0; i < conversation.Count; i++)
            {
                var message = conversation[i];
                if (message is null || !Roles.Contains(message.Role) || string.IsNullOrEmpty(message.Content))
                {
                    errors[$"messages[{i}]"] = ["Each message needs a role (system, user or assistant) and content."];
                    continue;
                }

                messages.Add(new ChatMessage(new ChatRole(message.Role), message.Content));
            }
        }
        else if (request.Prompt is { } prompt)
        {
            formatSchema = RenderPrompt(prompt, messages, errors);
        }

        var named = string.IsNullOrEmpty(request.Model) ? null : _catalog.Find(request.Model);
        var route = string.IsNullOrEmpty(request.Model) || named is not null
            ? _router.Route(request.Model, request.Route)
            : null;
        if (route is null)
        {
            errors["model"] = [$"Unknown model; one of: {string.Join(", ", _catalog.Models.Select(m => m.Id))}."];
        }
        else if (named is not null && ModelCatalog.WrongKind(named, ModelKind.Chat) is { } wrongKind)
        {
            errors["model"] = [wrongKind];
        }

        if (request.Temperature is < 0 or > 2)
        {
            errors["temperature"] = ["Must be between 0 and 2."];
        }

        if (request.Cache is not null && ResponseCacheCall.ParseMode(request.Cache) is null)
        {
            errors["cache"] = [$"One of: {string.Join(", ", ResponseCacheCall.Modes)}."];
        }

        if (request.MaxTokens is < 1 or > 1_000_000)
        {
            errors["maxTokens"] = ["Must be between 1 and 1000000."];
        }

        JsonSchemaValidator? schema = null;
        var schemaJson = request.Schema ?? formatSchema;
        if (schemaJson is { } s && !JsonSchemaValidator.TryCreate(s, out schema, out var schemaError))
        {
            errors["schema"] = [schemaError];
        }
        else if (schemaJson is { } usable && SchemaUsability.Problem(usable) is { } unusable)
        {
            // Valid, but no answer could match it, or it refers to something the gateway will not fetch.
            errors["schema"] = [$"The schema cannot be used: {unusable}"];
            schema = null;
        }

        var tools = new List<AITool>();
        foreach (var name in request.Tools ?? [])
        {
            if (_tools.TryGetTool(name, out _))
            {
                tools.AddRange(_tools.AsAIFunctions([name]));
            }
            else
            {
                errors[$"tools"] = [$"Unknown tool '{name}'; one of: {string.Join(", ", _tools.Tools.Select(t => t.Name))}."];
            }
        }

        if (errors.Count > 0)
        {
            throw new GenerateValidationException(errors);
        }

        var wantsJson = request.Json == true || schema is not null;
        var options = new ChatOptions
        {
            ModelId = route!.Model,
            Temperature = request.Temperature,
            MaxOutputTokens = request.MaxTokens,
            ResponseFormat = schema is not null ? ChatResponseFormat.ForJsonSchema(schema.Json) : wantsJson ? ChatResponseFormat.Json : null,
            Tools = tools.Count > 0 ? tools : null,
            ToolMode = tools.Count > 0 ? ChatToolMode.Auto : null,
        };
        return new Prepared(messages, options, route, schema, wantsJson);
    }

    public Task<GenerateResponse> GenerateAsync(GenerateRequest request, CancellationToken cancellationToken) =>
        GenerateAsync(request, null, cancellationToken);

    /// <summary>Generates; <paramref name="caller"/> (who asks, and the mode its header asked for) lets the request use the response cache.</summary>
    public async Task<GenerateResponse> GenerateAsync(GenerateRequest request, CacheCaller? caller, CancellationToken cancellationToken)
    {
        var (prepared, context, started) = Begin(request, caller);
        using var total = _time.StartDeadline(_options.TotalTimeout, cancellationToken);
        try
        {
            var response = await _pipeline.GetResponseAsync(prepared.Messages, prepared.Options, total.Token);
            // The function-invocation layer stops after its last round and returns the model's unanswered calls.
            if (ToolRounds.WantsTools(response))
            {
                return Result(prepared, context, response, LastText(response), null, started, ToolBudgetExhaustedReason);
            }

            var json = JsonAnswer.Of(response);
            return Result(prepared, context, response, json?.Text ?? response.Text, json?.Data, started);
        }
        catch (OperationCanceledException) when (total.HasExpired)
        {
            throw new GatewayTimeoutException(_options.TotalTimeout);
        }
    }

    /// <summary>Streams text deltas, then one <c>done</c> event with the full result.</summary>
    public async IAsyncEnumerable<GenerateStreamEvent> StreamAsync(GenerateRequest request, CacheCaller? caller, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var (prepared, context, started) = Begin(request, caller);
        using var total = _time.StartDeadline(_options.TotalTimeout, cancellationToken);
        var updates = new List<ChatResponseUpdate>();
        var enumerator = _pipeline.GetStreamingResponseAsync(prepared.Messages, prepared.Options, total.Token).GetAsyncEnumerator(total.Token);
        await using (enumerator)
        {
            while (true)
            {
                try
                {
                    if (!await enumerator.MoveNextAsync())
                    {
                        break;
                    }
                }
                catch (OperationCanceledException) when (total.HasExpired)
                {
                    throw new GatewayTimeoutException(_options.TotalTimeout);
                }

                updates.Add(enumerator.Current);
                if (enumerator.Current.Text is { Length: > 0 } text)
                {
                    yield return new GenerateStreamEvent(GenerateStreamEvent.Delta, text);
                }
            }
        }

        var response = updates.ToChatResponse();
        if (ContentBlock.Find(response) is { } block)
        {
            // Stopped by a safety filter after its first tokens: the same 422 as a unary block, as the last event.
            var answered = context.Attempts.LastOrDefault(a => a.Outcome == AttemptRecord.Succeeded);
            throw block.ToException(answered?.Provider ?? "unknown", answered?.Model ?? prepared.Route.Model);
        }

        if (ToolRounds.WantsTools(response))
        {
            yield return new GenerateStreamEvent(GenerateStreamEvent.Done,
                Result: Result(prepared, context, response, LastText(response), null, started, ToolBudgetExhaustedReason));
            yield break;
        }

        var output = response.Text;
        JsonElement? data = null;
        if (prepared.WantsJson)
        {
            var (checkedData, errors) = JsonOutput.Check(output, prepared.Schema);
            data = errors.Count == 0 ? checkedData : throw new InvalidModelOutputException(output, errors);
        }

        yield return new GenerateStreamEvent(GenerateStreamEvent.Done, Result: Result(prepared, context, response, output, data, started));
    }

    /// <summary>The finish reason of an answer whose model still wanted tools when <see cref="GatewayPolicyOptions.MaxToolIterations"/> ran out.</summary>
    public const string ToolBudgetExhaustedReason = "tool_budget_exhausted";


    // The last thing the model said in words: earlier rounds' texts were steps on the way, not the answer.
    internal static string LastText(ChatResponse response) =>
        response.Messages.LastOrDefault(m => m.Role == ChatRole.Assistant && m.Text.Length > 0)?.Text ?? "";

    private GenerateResponse Result(Prepared prepared, GatewayCallContext context, ChatResponse response, string output, JsonElement? data, long started,
        string? finishReason = null) => new(
        output,
        data,
        context.AnsweredBy ?? response.ModelId ?? prepared.Route.Model,
        context.Attempts,
        context.Fallbacks,
        context.Usage,
        decimal.Round(context.CostUsd, 8),
        finishReason ?? response.FinishReason?.Value,
        (long)_time.GetElapsedTime(started).TotalMilliseconds,
        new RouteInfo(prepared.Route.Model, prepared.Route.Reason),
        ToolCalls(response))
    {
        Cache = ResponseCacheCall.From(prepared.Options)?.Info,
    };

    private static List<ToolCallRecord> ToolCalls(ChatResponse response)
    {
        var results = response.Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>().ToDictionary(r => r.CallId, r => r);
        return response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>()
            .Select(call => new ToolCallRecord(
                call.Name,
                call.Arguments is null ? null : JsonSerializer.SerializeToElement(call.Arguments),
                results.TryGetValue(call.CallId, out var result) && result.Exception is null && !IsToolError(result.Result)))
            .ToList();
    }

    private static bool IsToolError(object? result) =>
        result is JsonElement { ValueKind: JsonValueKind.Object } json && json.TryGetProperty("error", out _);

    /// <summary>Checks the request and attaches a fresh call context that will record its attempts.</summary>
    private (Prepared Prepared, GatewayCallContext Context, long Started) Begin(GenerateRequest request, CacheCaller? caller)
    {
        var prepared = Prepare(request);
        var context = new GatewayCallContext();
        prepared.Options.AdditionalProperties = [];
        context.Attach(prepared.Options);
        if (caller is not null && ResponseCacheCall.ParseMode(request.Cache ?? caller.Mode) is { } mode)
        {
            caller.Call = new ResponseCacheCall(mode, caller.Name, "generate");
            caller.Call.Attach(prepared.Options);
        }

        if (prepared.WantsJson)
        {
            JsonAnswer.Ask(prepared.Options, prepared.Schema);
        }

        return (prepared, context, _time.GetTimestamp());
    }

    private JsonElement? RenderPrompt(JsonElement prompt, List<ChatMessage> messages, Dictionary<string, string[]> errors)
    {
        if (prompt.ValueKind != JsonValueKind.Object || !prompt.TryGetProperty("format", out var formatElement) || formatElement.ValueKind != JsonValueKind.String)
        {
            errors["prompt.format"] = [$"Name a format: {string.Join(", ", _prompts.Formats.Select(f => f.Name))}."];
            return null;
        }

        var fields = JsonNode.Parse(prompt.GetRawText())!.AsObject();
        fields.Remove("format");
        var result = _prompts.Render(formatElement.GetString()!, JsonSerializer.SerializeToElement(fields));
        switch (result.Status)
        {
            case PromptRenderStatus.Rendered:
                messages.AddRange(result.Prompt!.Messages.Select(m => m.ToChatMessage()));
                return result.Prompt.ResponseSchema;
            case PromptRenderStatus.UnknownFormat:
                errors["prompt.format"] = [$"Unknown format; one of: {string.Join(", ", _prompts.Formats.Select(f => f.Name))}."];
                return null;
            default:
                foreach (var error in result.Errors)
                {
                    errors[$"prompt{error.Path.Replace('/', '.')}"] = [error.Message];
                }

                return null;
        }
    }
}
