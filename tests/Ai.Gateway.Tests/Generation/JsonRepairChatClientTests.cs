using System.Text.Json;
using Ai.Gateway.Generation;
using Ai.Gateway.Tools;
using Microsoft.Extensions.AI;

namespace Ai.Gateway.Tests.Generation;

/// <summary>The one JSON check-and-repair step both /v1/generate and /v1/chat/completions go through (no server).</summary>
public sealed class JsonRepairChatClientTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly JsonSchemaValidator NeedsName = JsonSchemaValidator.Create(JsonDocument.Parse(
        """{"type":"object","required":["name"],"properties":{"name":{"type":"string"}}}""").RootElement);

    [Fact]
    public async Task A_valid_answer_in_a_code_fence_is_read_without_a_second_call()
    {
        var model = new AnsweringClient("```json\n{\"name\":\"x\"}\n```");
        var response = await new JsonRepairChatClient(model).GetResponseAsync([new(ChatRole.User, "hi")], AskingForJson(NeedsName), Ct);

        Assert.Single(model.Requests);
        var answer = JsonAnswer.Of(response);
        Assert.NotNull(answer);
        Assert.Equal("""{"name":"x"}""", answer.Data.GetRawText());
    }

    [Fact]
    public async Task A_broken_answer_is_repaired_once_with_the_errors_shown_to_the_model()
    {
        var model = new AnsweringClient("""{"nom":"x"}""", """{"name":"y"}""");
        var response = await new JsonRepairChatClient(model).GetResponseAsync([new(ChatRole.User, "hi")], AskingForJson(NeedsName), Ct);

        Assert.Equal(2, model.Requests.Count);
        var repair = model.Requests[1];
        Assert.Equal(3, repair.Count);
        Assert.Equal("""{"nom":"x"}""", repair[1].Text);
        Assert.Contains("/name", repair[2].Text, StringComparison.Ordinal);
        Assert.Equal("""{"name":"y"}""", JsonAnswer.Of(response)!.Text);
    }

    [Fact]
    public async Task A_second_broken_answer_is_InvalidModelOutputException()
    {
        var model = new AnsweringClient("not json", """{"nom":"x"}""");
        var failure = await Assert.ThrowsAsync<InvalidModelOutputException>(() =>
            new JsonRepairChatClient(model).GetResponseAsync([new(ChatRole.User, "hi")], AskingForJson(NeedsName), Ct));

        Assert.Equal("""{"nom":"x"}""", failure.Output);
        Assert.Equal(2, model.Requests.Count);
    }

    [Fact]
    public async Task An_answer_that_still_wants_a_tool_and_a_call_without_the_json_request_are_not_checked()
    {
        var wantsTool = new AnsweringClient(new ChatMessage(ChatRole.Assistant, [new FunctionCallContent("c1", "lookup")]));
        var toolResponse = await new JsonRepairChatClient(wantsTool).GetResponseAsync([new(ChatRole.User, "hi")], AskingForJson(NeedsName), Ct);
        var plain = new AnsweringClient("not json");
        var plainResponse = await new JsonRepairChatClient(plain).GetResponseAsync([new(ChatRole.User, "hi")], new ChatOptions(), Ct);

        Assert.Null(JsonAnswer.Of(toolResponse));
        Assert.Null(JsonAnswer.Of(plainResponse));
        Assert.Single(wantsTool.Requests);
        Assert.Single(plain.Requests);
    }

    private static ChatOptions AskingForJson(JsonSchemaValidator schema)
    {
        var options = new ChatOptions();
        JsonAnswer.Ask(options, schema);
        return options;
    }

    private sealed class AnsweringClient(params ChatMessage[] answers) : IChatClient
    {
        public AnsweringClient(params string[] answers)
            : this([.. answers.Select(a => new ChatMessage(ChatRole.Assistant, a))])
        {
        }

        public List<List<ChatMessage>> Requests { get; } = [];

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            Requests.Add([.. messages]);
            return Task.FromResult(new ChatResponse(answers[Requests.Count - 1]));
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
            CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
