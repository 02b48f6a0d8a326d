using System.Text.Json;
using System.Text.Json.Nodes;
using Ai.Gateway.Providers.Offline;
using Microsoft.Extensions.AI;

namespace Ai.Gateway.Tests.Providers;

public sealed class OfflineChatClientTests
{
    private static readonly ChatMessage[] Conversation =
    [
        new(ChatRole.System, "You are a meticulous release-notes writer. Keep it short."),
        new(ChatRole.User, "Summarize the changes in version 2.1. The login page was redesigned! Exports are now twice as fast."),
    ];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_same_request_gets_the_same_answer_labelled_offline()
    {
        using var client = new OfflineChatClient();

        var first = await client.GetResponseAsync(Conversation, cancellationToken: Ct);
        var second = await client.GetResponseAsync(Conversation, cancellationToken: Ct);

        Assert.Equal("offline", first.ModelId);
        Assert.Equal(first.Text, second.Text);
        Assert.Equal(first.ResponseId, second.ResponseId);
        Assert.Contains("no AI model was called", first.Text, StringComparison.Ordinal);
        Assert.Contains("Role: a meticulous release-notes writer", first.Text, StringComparison.Ordinal);
        Assert.Contains("Task: Summarize the changes in version 2.1.", first.Text, StringComparison.Ordinal);
        Assert.Contains("- Exports are now twice as fast.", first.Text, StringComparison.Ordinal);
        Assert.Equal(ChatFinishReason.Stop, first.FinishReason);
        Assert.Equal("offline", client.GetService<ChatClientMetadata>()!.ProviderName);
    }

    [Fact]
    public async Task A_different_request_gets_a_different_answer()
    {
        using var client = new OfflineChatClient();

        var first = await client.GetResponseAsync(Conversation, cancellationToken: Ct);
        var other = await client.GetResponseAsync("Translate 'hello' to French.", cancellationToken: Ct);

        Assert.NotEqual(first.Text, other.Text);
        Assert.NotEqual(first.ResponseId, other.ResponseId);
        Assert.Contains("Translate 'hello' to French.", other.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Usage_is_a_quarter_of_the_characters_rounded_up()
    {
        using var client = new OfflineChatClient();

        var response = await client.GetResponseAsync(Conversation, cancellationToken: Ct);

        var inputChars = Conversation.Sum(m => m.Text.Length);
        Assert.Equal((inputChars + 3) / 4, response.Usage!.InputTokenCount);
        Assert.Equal((response.Text.Length + 3) / 4, response.Usage.OutputTokenCount);
        Assert.Equal(response.Usage.InputTokenCount + response.Usage.OutputTokenCount, response.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task Streaming_yields_the_same_text_in_chunks_and_one_usage()
    {
        using var client = new OfflineChatClient();
        var unary = await client.GetResponseAsync(Conversation, cancellationToken: Ct);

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync(Conversation, cancellationToken: Ct))
        {
            updates.Add(update);
        }

        Assert.True(updates.Count(u => u.Text.Length > 0) > 3);
        Assert.Equal(unary.Text, string.Concat(updates.Select(u => u.Text)));
        var usage = Assert.Single(updates.SelectMany(u => u.Contents).OfType<UsageContent>());
        Assert.Equal(unary.Usage!.TotalTokenCount, usage.Details.TotalTokenCount);
        Assert.All(updates, u => Assert.Equal("offline", u.ModelId));
        Assert.Equal(ChatFinishReason.Stop, updates.ToChatResponse().FinishReason);
    }

    [Fact]
    public async Task Chained_steps_stay_readable_and_bounded()
    {
        using var client = new OfflineChatClient();
        var output = "Draft a plan for migrating the billing service to the new database.";
        for (var step = 0; step < 4; step++)
        {
            output = (await client.GetResponseAsync($"Review and improve this: {output}", cancellationToken: Ct)).Text;
        }

        Assert.StartsWith("Offline answer", output, StringComparison.Ordinal);
        Assert.True(output.Length < 1200, $"Output grew to {output.Length} characters.");
    }

    [Fact]
    public async Task Plain_json_mode_returns_a_json_object()
    {
        using var client = new OfflineChatClient();

        var response = await client.GetResponseAsync(Conversation, new ChatOptions { ResponseFormat = ChatResponseFormat.Json }, Ct);

        var json = Assert.IsType<JsonObject>(JsonNode.Parse(response.Text));
        Assert.Equal("offline", (string)json["model"]!);
        Assert.Equal("a meticulous release-notes writer", (string)json["role"]!);
    }

    [Theory]
    [MemberData(nameof(JsonSchemaInstanceGeneratorTests.Schemas), MemberType = typeof(JsonSchemaInstanceGeneratorTests))]
    public async Task A_json_schema_request_gets_an_instance_that_validates(string name, string schema)
    {
        using var client = new OfflineChatClient();
        var format = ChatResponseFormat.ForJsonSchema(JsonDocument.Parse(schema).RootElement, name);

        var response = await client.GetResponseAsync(Conversation, new ChatOptions { ResponseFormat = format }, Ct);

        Assert.Equal("offline", response.ModelId);
        SchemaAssert.Valid(schema, response.Text);
    }

    [Fact]
    public async Task Structured_output_helper_deserializes_the_offline_answer()
    {
        using var client = new OfflineChatClient();

        var response = await client.GetResponseAsync<ReleaseNote>("Write a release note", cancellationToken: Ct);

        Assert.NotNull(response.Result);
        Assert.NotNull(response.Result.Title);
        Assert.NotNull(response.Result.Items);
    }

    [Fact]
    public async Task Calls_the_named_tool_with_arguments_from_the_message_and_answers_with_its_result()
    {
        string? askedCity = null;
        var weather = AIFunctionFactory.Create((string city, string unit) =>
        {
            askedCity = city;
            return new { city, temperature = 18, unit };
        }, "get_weather", "Current weather");
        var other = AIFunctionFactory.Create(() => "unused", "get_time");
        using var client = new ChatClientBuilder(new OfflineChatClient()).UseFunctionInvocation().Build();

        var response = await client.GetResponseAsync(
            """Please use tool get_weather with {"city": "Paris", "unit": "C"} and report.""",
            new ChatOptions { Tools = [other, weather] }, Ct);

        Assert.Equal("Paris", askedCity);
        Assert.Equal("offline", response.ModelId);
        var call = response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().Single();
        Assert.Equal("get_weather", call.Name);
        Assert.True(response.Text.Contains("Tool get_weather returned: {\"city\":\"Paris\",\"temperature\":18,\"unit\":\"C\"}", StringComparison.Ordinal), response.Text);
    }

    [Fact]
    public async Task A_required_tool_is_called_with_arguments_that_satisfy_its_schema()
    {
        var book = AIFunctionFactory.Create(
            (string email, DateTimeOffset when, int seats, Guid id) => $"booked {seats} for {email}", "book_table");
        using var client = new OfflineChatClient();

        var response = await client.GetResponseAsync("Book something", new ChatOptions { Tools = [book], ToolMode = ChatToolMode.RequireAny }, Ct);

        Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);
        var call = Assert.IsType<FunctionCallContent>(Assert.Single(response.Messages.Single().Contents));
        Assert.Equal("book_table", call.Name);
        Assert.Equal("offline-call-1", call.CallId);
        SchemaAssert.Valid(book.JsonSchema.GetRawText(), JsonSerializer.Serialize(call.Arguments));
    }

    [Fact]
    public async Task The_function_invoking_loop_ends_after_one_call_even_when_a_tool_is_required()
    {
        var calls = 0;
        var ping = AIFunctionFactory.Create(() => ++calls, "ping");
        using var client = new ChatClientBuilder(new OfflineChatClient()).UseFunctionInvocation().Build();

        var response = await client.GetResponseAsync("Ping it", new ChatOptions { Tools = [ping], ToolMode = ChatToolMode.RequireSpecific("ping") }, Ct);

        Assert.Equal(1, calls);
        Assert.Contains("Tool ping returned: 1", response.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_tool_is_called_unless_asked()
    {
        var ping = AIFunctionFactory.Create(() => "pong", "ping");
        using var client = new OfflineChatClient();

        var auto = await client.GetResponseAsync("Just say hello", new ChatOptions { Tools = [ping] }, Ct);
        var none = await client.GetResponseAsync("call ping", new ChatOptions { Tools = [ping], ToolMode = ChatToolMode.None }, Ct);

        Assert.Empty(auto.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Empty(none.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
    }

    [Fact]
    public async Task Streaming_a_tool_call_yields_the_call_and_one_usage()
    {
        var ping = AIFunctionFactory.Create(() => "pong", "ping");
        using var client = new OfflineChatClient();

        var response = await client.GetStreamingResponseAsync("call ping", new ChatOptions { Tools = [ping] }, Ct).ToChatResponseAsync(cancellationToken: Ct);

        Assert.Equal("ping", response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().Single().Name);
        Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);
        Assert.NotNull(response.Usage);
    }

    private sealed record ReleaseNote(string Title, List<string> Items, DateTimeOffset Published);
}
