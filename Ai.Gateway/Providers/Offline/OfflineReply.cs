using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;

namespace Ai.Gateway.Providers.Offline;

/// <summary>
/// What the offline model answers, derived only from the request so the same input always gives the
/// same output: a tool call when one is asked for, a schema instance or JSON object in JSON mode,
/// otherwise a short structured echo of the task that still reads well when workflow steps chain.
/// </summary>
internal sealed partial record OfflineReply(AIContent Content, ChatFinishReason FinishReason, int OutputCharacters)
{
    private const int MaxTaskLength = 280;
    private const int MaxPointLength = 140;
    private const int MaxResultLength = 500;

    public static OfflineReply Create(IReadOnlyList<ChatMessage> messages, ChatOptions? options)
    {
        var lastUser = messages.Select((m, i) => (m, i)).LastOrDefault(x => x.m.Role == ChatRole.User);
        var task = lastUser.m?.Text ?? "";
        var results = messages.Skip(lastUser.m is null ? 0 : lastUser.i).SelectMany(m => m.Contents).OfType<FunctionResultContent>().ToList();

        // Once a tool has answered, answer in words: calling again would loop a function-invoking client forever.
        if (results.Count == 0 && ToolToCall(options, task) is { } tool)
        {
            var callNumber = messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().Count() + 1;
            var arguments = ArgumentsFrom(task) ?? JsonSchemaInstanceGenerator.Generate(tool.JsonSchema) as JsonObject ?? [];
            var call = new FunctionCallContent(
                $"offline-call-{callNumber.ToString(CultureInfo.InvariantCulture)}",
                tool.Name,
                arguments.ToDictionary(p => p.Key, p => (object?)JsonSerializer.SerializeToElement(p.Value)));
            return new OfflineReply(call, ChatFinishReason.ToolCalls, tool.Name.Length + arguments.ToJsonString().Length);
        }

        var role = Role(SystemPrompt(messages, options));
        var names = CallNames(messages);
        var text = options?.ResponseFormat switch
        {
            ChatResponseFormatJson { Schema: { } schema } => (JsonSchemaInstanceGenerator.Generate(schema)?.ToJsonString() ?? "null"),
            ChatResponseFormatJson => JsonObjectAnswer(role, task, results, names),
            _ => TextAnswer(role, task, results, names),
        };
        return new OfflineReply(new TextContent(text), ChatFinishReason.Stop, text.Length);
    }

    /// <summary>Deterministic token estimate: a quarter of the characters, rounded up.</summary>
    public static long Tokens(long characters) => (characters + 3) / 4;

    public static long InputCharacters(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        long count = options?.Instructions?.Length ?? 0;
        foreach (var content in messages.SelectMany(m => m.Contents))
        {
            count += content switch
            {
                TextContent text => text.Text.Length,
                FunctionCallContent call => call.Name.Length + Serialize(call.Arguments).Length,
                FunctionResultContent result => Serialize(result.Result).Length,
                _ => 0,
            };
        }

        return count;
    }

    private static string TextAnswer(string? role, string task, List<FunctionResultContent> results, Dictionary<string, string> names)
    {
        var answer = new StringBuilder("Offline answer (no AI model was called; this text is derived from the request).\n");
        if (role is not null)
        {
            answer.Append("Role: ").Append(role).Append('\n');
        }

        answer.Append("Task: ").Append(Shorten(Collapse(task), MaxTaskLength)).Append('\n');
        foreach (var result in results)
        {
            answer.Append("Tool ").Append(names.GetValueOrDefault(result.CallId, result.CallId)).Append(" returned: ")
                .Append(Shorten(Serialize(result.Exception?.Message ?? result.Result), MaxResultLength)).Append('\n');
        }

        var points = Sentences(task).Take(3).ToList();
        if (points.Count > 1)
        {
            answer.Append("Key points:\n");
            foreach (var point in points)
            {
                answer.Append("- ").Append(Shorten(point, MaxPointLength)).Append('\n');
            }
        }

        return answer.ToString().TrimEnd('\n');
    }

    private static string JsonObjectAnswer(string? role, string task, List<FunctionResultContent> results, Dictionary<string, string> names)
    {
        var answer = new JsonObject
        {
            ["model"] = OfflineChatClient.ModelName,
            ["role"] = role,
            ["task"] = Shorten(Collapse(task), MaxTaskLength),
            ["keyPoints"] = new JsonArray(Sentences(task).Take(3).Select(p => (JsonNode?)JsonValue.Create(Shorten(p, MaxPointLength))).ToArray()),
        };
        if (results.Count > 0)
        {
            answer["toolResults"] = new JsonArray(results.Select(r => (JsonNode?)new JsonObject
            {
                ["tool"] = names.GetValueOrDefault(r.CallId, r.CallId),
                ["result"] = Shorten(Serialize(r.Exception?.Message ?? r.Result), MaxResultLength),
            }).ToArray());
        }

        return answer.ToJsonString();
    }

    private static AIFunctionDeclaration? ToolToCall(ChatOptions? options, string task)
    {
        var tools = options?.Tools?.OfType<AIFunctionDeclaration>().ToList() ?? [];
        if (tools.Count == 0 || options!.ToolMode is NoneChatToolMode)
        {
            return null;
        }

        AIFunctionDeclaration? Named(string? name) =>
            name is null ? null : tools.FirstOrDefault(t => string.Equals(t.Name, name, StringComparison.OrdinalIgnoreCase));

        var mentioned = ToolMention().Matches(task).Select(m => Named(m.Groups["name"].Value)).FirstOrDefault(t => t is not null);
        return options.ToolMode switch
        {
            RequiredChatToolMode { RequiredFunctionName: { } required } => Named(required),
            RequiredChatToolMode => mentioned ?? tools[0],
            _ => mentioned,
        };
    }

    // The first balanced {...} in the message that parses as a JSON object.
    private static JsonObject? ArgumentsFrom(string task)
    {
        for (var start = task.IndexOf('{', StringComparison.Ordinal); start >= 0; start = task.IndexOf('{', start + 1))
        {
            var depth = 0;
            var inString = false;
            for (var i = start; i < task.Length; i++)
            {
                var c = task[i];
                if (inString)
                {
                    if (c == '\\')
                    {
                        i++;
                    }
                    else if (c == '"')
                    {
                        inString = false;
                    }
                }
                else if (c == '"')
                {
                    inString = true;
                }
                else if (c == '{')
                {
                    depth++;
                }
                else if (c == '}' && --depth == 0)
                {
                    try
                    {
                        if (JsonNode.Parse(task[start..(i + 1)]) is JsonObject parsed)
                        {
                            return parsed;
                        }
                    }
                    catch (JsonException)
                    {
                    }

                    break;
                }
            }
        }

        return null;
    }

    private static string? SystemPrompt(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        var parts = messages.Where(m => m.Role == ChatRole.System).Select(m => m.Text).Prepend(options?.Instructions)
            .Where(t => !string.IsNullOrWhiteSpace(t));
        var prompt = string.Join(" ", parts);
        return prompt.Length == 0 ? null : prompt;
    }

    // "You are a meticulous code reviewer. …" → "a meticulous code reviewer"; otherwise the first sentence.
    private static string? Role(string? systemPrompt)
    {
        if (systemPrompt is null)
        {
            return null;
        }

        var first = Sentences(systemPrompt).FirstOrDefault() ?? Collapse(systemPrompt);
        var match = YouAre().Match(first);
        return Shorten(match.Success ? match.Groups["role"].Value.TrimEnd('.', '!', ' ') : first, MaxPointLength);
    }

    private static Dictionary<string, string> CallNames(IEnumerable<ChatMessage> messages)
    {
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var call in messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>())
        {
            names[call.CallId] = call.Name;
        }

        return names;
    }

    private static IEnumerable<string> Sentences(string text) =>
        SentenceBreak().Split(text).Select(Collapse).Where(s => s.Length > 0);

    private static string Collapse(string text) => Whitespace().Replace(text, " ").Trim();

    private static string Shorten(string text, int max) => text.Length <= max ? text : text[..(max - 1)].TrimEnd() + "…";

    private static string Serialize(object? value) => value switch
    {
        null => "null",
        string s => s,
        JsonElement e => JsonSerializer.Serialize(e),
        JsonNode n => n.ToJsonString(),
        TextContent t => t.Text,
        _ => JsonSerializer.Serialize(value, value.GetType(), AIJsonUtilities.DefaultOptions),
    };

    [GeneratedRegex(@"\b(?:use|call|invoke|run)\s+(?:the\s+)?(?:tool\s+|function\s+)?[`'""]?(?<name>[A-Za-z_][A-Za-z0-9_.\-]*)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ToolMention();

    [GeneratedRegex(@"^\s*you\s+are\s+(?<role>.+)$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex YouAre();

    [GeneratedRegex(@"(?<=[.!?])\s+|\n+")]
    private static partial Regex SentenceBreak();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
