using System.Text.Json;
using Ai.Gateway.Tools;
using Microsoft.Extensions.AI;

namespace Ai.Gateway.Generation;

/// <summary>
/// The one JSON-repair step of <c>/v1/generate</c> and <c>/v1/chat/completions</c>: when a call asks for JSON
/// (<see cref="JsonAnswer.Ask"/>), the final answer is parsed (a Markdown fence around it tolerated) and checked
/// against the schema; if it fails, the model is shown its answer and what is wrong with it, once. The checked
/// answer travels on the response (<see cref="JsonAnswer.Of"/>); a second failure is
/// <see cref="InvalidModelOutputException"/>. An answer that still wants tools is not checked: it is not the
/// final answer. Streams pass through (there is nothing to repair once tokens reached the caller).
/// </summary>
public sealed class JsonRepairChatClient(IChatClient inner) : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var sent = messages as IReadOnlyList<ChatMessage> ?? [.. messages];
        var response = await base.GetResponseAsync(sent, options, cancellationToken);
        if (JsonAnswer.RequestOf(options) is not { } request || ToolRounds.WantsTools(response))
        {
            return response;
        }

        var (data, errors) = JsonOutput.Check(response.Text, request.Schema);
        if (errors.Count == 0)
        {
            return JsonAnswer.Attach(response, new JsonAnswer(data!.Value, response.Text));
        }

        List<ChatMessage> repair = [.. sent, new(ChatRole.Assistant, response.Text), new(ChatRole.User, JsonOutput.RepairPrompt(errors, request.Schema?.Json))];
        var repaired = await base.GetResponseAsync(repair, options, cancellationToken);
        var (repairedData, repairedErrors) = JsonOutput.Check(repaired.Text, request.Schema);
        if (repairedErrors.Count > 0)
        {
            throw new InvalidModelOutputException(repaired.Text, repairedErrors);
        }

        // Both rounds' messages stay (the tool calls of the first one happened); the answer is the repaired one.
        var answer = new JsonAnswer(repairedData!.Value, repaired.Text);
        repaired.Messages = [.. response.Messages, .. repaired.Messages];
        return JsonAnswer.Attach(repaired, answer);
    }
}

/// <summary>A model's answer that passed the JSON check: the parsed value and the text it was read from.</summary>
public sealed record JsonAnswer(JsonElement Data, string Text)
{
    private const string RequestKey = "gateway.json-request";
    private const string AnswerKey = "gateway.json-answer";

    /// <summary>What a call asks for: JSON, matching <see cref="Schema"/> when there is one.</summary>
    public sealed record Request(JsonSchemaValidator? Schema);

    /// <summary>Asks <see cref="JsonRepairChatClient"/> to check (and once repair) the answer of calls with these options.</summary>
    public static void Ask(ChatOptions options, JsonSchemaValidator? schema) => (options.AdditionalProperties ??= [])[RequestKey] = new Request(schema);

    public static Request? RequestOf(ChatOptions? options) =>
        options?.AdditionalProperties?.TryGetValue(RequestKey, out var value) == true ? value as Request : null;

    /// <summary>The checked answer of a response to a call that asked for JSON.</summary>
    public static JsonAnswer? Of(ChatResponse response) =>
        response.AdditionalProperties?.TryGetValue(AnswerKey, out var value) == true ? value as JsonAnswer : null;

    internal static ChatResponse Attach(ChatResponse response, JsonAnswer answer)
    {
        (response.AdditionalProperties ??= [])[AnswerKey] = answer;
        return response;
    }
}
