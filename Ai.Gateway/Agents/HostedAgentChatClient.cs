using System.Runtime.CompilerServices;
using Agents.Hosting;
using Ai.Gateway.Generation;
using Ai.Gateway.Model;
using Ai.Gateway.Policy;
using Ai.Gateway.Tools;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace Ai.Gateway.Agents;

/// <summary>
/// The chat client of one hosted agent: <c>/v1/generate</c>'s pipeline (<see cref="GenerationService.Pipeline"/>:
/// the gateway policy, tool rounds, the JSON check with one repair) with what <see cref="GenerationService"/> does
/// around it per request, for the agent's settings: its model or route hints pick the model, its allowed tools are
/// the gateway's tools (<see cref="ToolRuntime.AsAIFunctions"/>), a JSON response format is checked against its
/// schema, the whole call is bounded by <see cref="GatewayPolicyOptions.TotalTimeout"/>. The answer reports the model
/// that answered, the usage of every round and its cost (<see cref="BusAgentResponseProperties"/>), so the task's
/// result carries them. A request the gateway refuses throws <see cref="GenerateValidationException"/>.
/// </summary>
public sealed class HostedAgentChatClient(
    IChatClient pipeline,
    HostedAgentDefinition definition,
    ModelRouter router,
    ModelCatalog catalog,
    ToolRuntime tools,
    GatewayPolicyOptions policy,
    TimeProvider time) : DelegatingChatClient(pipeline)
{
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (call, route, context) = Prepare(options);
        using var total = time.StartDeadline(policy.TotalTimeout, cancellationToken);
        ChatResponse response;
        try
        {
            response = await base.GetResponseAsync(messages, call, total.Token);
        }
        catch (OperationCanceledException) when (total.HasExpired)
        {
            throw new GatewayTimeoutException(policy.TotalTimeout);
        }

        // As /v1/generate answers: the checked JSON (after a repair, only the repaired answer), or, when the tool
        // budget ran out, the last thing the model said in words.
        if (ToolRounds.WantsTools(response))
        {
            response.Messages = [new ChatMessage(ChatRole.Assistant, GenerationService.LastText(response))];
            response.FinishReason = new ChatFinishReason(GenerationService.ToolBudgetExhaustedReason);
        }
        else if (JsonAnswer.Of(response) is { } json)
        {
            response.Messages = [new ChatMessage(ChatRole.Assistant, json.Text)];
        }

        response.ModelId = context.AnsweredBy ?? response.ModelId ?? route.Model;
        response.Usage = new UsageDetails
        {
            InputTokenCount = context.Usage.InputTokens,
            OutputTokenCount = context.Usage.OutputTokens,
            TotalTokenCount = context.Usage.TotalTokens,
            CachedInputTokenCount = context.Usage.CachedInputTokens,
            ReasoningTokenCount = context.Usage.ReasoningTokens,
        };
        response.AdditionalProperties ??= [];
        response.AdditionalProperties[BusAgentResponseProperties.CostUsd] = decimal.Round(context.CostUsd, 8);
        response.AdditionalProperties[BusAgentResponseProperties.Fallbacks] = context.Fallbacks;
        return response;
    }

    // The bus asks for whole answers; a stream is the whole answer's updates.
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync(messages, options, cancellationToken);
        foreach (var update in response.ToChatResponseUpdates())
        {
            yield return update;
        }
    }

    /// <summary>The call's own options (the agent's are shared by its calls) with the model, tools, JSON check and a fresh call context.</summary>
    private (ChatOptions Call, ModelRouter.Decision Route, GatewayCallContext Context) Prepare(ChatOptions? options)
    {
        var call = options?.Clone() ?? new ChatOptions();
        call.AdditionalProperties = options?.AdditionalProperties is { } shared ? new AdditionalPropertiesDictionary(shared) : [];
        var errors = new Dictionary<string, string[]>();

        var named = string.IsNullOrEmpty(call.ModelId) ? null : catalog.Find(call.ModelId);
        if (!string.IsNullOrEmpty(call.ModelId) && named is null)
        {
            errors["model"] = [$"Unknown model; one of: {string.Join(", ", catalog.Models.Select(m => m.Id))}."];
        }
        else if (named is not null && ModelCatalog.WrongKind(named, ModelKind.Chat) is { } wrongKind)
        {
            errors["model"] = [wrongKind];
        }

        var route = router.Route(call.ModelId, definition.Route);
        call.ModelId = route.Model;

        var unknown = definition.Tools.Where(t => !tools.TryGetTool(t, out _)).ToList();
        if (unknown.Count > 0)
        {
            errors["tools"] = [$"Unknown tool '{unknown[0]}'; one of: {string.Join(", ", tools.Tools.Select(t => t.Name))}."];
        }
        else if (definition.Tools.Count > 0)
        {
            call.Tools = [.. call.Tools ?? [], .. tools.AsAIFunctions(definition.Tools)];
            call.ToolMode ??= ChatToolMode.Auto;
        }

        JsonSchemaValidator? schema = null;
        if (call.ResponseFormat is ChatResponseFormatJson { Schema: { } wanted })
        {
            if (!JsonSchemaValidator.TryCreate(wanted, out schema, out var schemaError))
            {
                errors["schema"] = [schemaError];
            }
            else if (SchemaUsability.Problem(wanted) is { } unusable)
            {
                errors["schema"] = [$"The schema cannot be used: {unusable}"];
            }
        }

        if (errors.Count > 0)
        {
            throw new GenerateValidationException(errors);
        }

        if (call.ResponseFormat is ChatResponseFormatJson)
        {
            JsonAnswer.Ask(call, schema);
        }

        var context = new GatewayCallContext();
        context.Attach(call);
        return (call, route, context);
    }
}
