using System.Text.Json;
using Ai.Gateway.Tools.BuiltIn;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Time.Testing;
using static Ai.Gateway.Tests.Tools.FakeTool;

namespace Ai.Gateway.Tests.Tools;

/// <summary>The tools as Microsoft.Extensions.AI functions, alone and under FunctionInvokingChatClient.</summary>
public sealed class ToolFunctionTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;
    private readonly Ai.Gateway.Tools.ToolRuntime _runtime = Runtime(new FakeTimeProvider(), new EchoTool(), new CalculateTool(), Throwing());

    [Fact]
    public void Functions_describe_the_tool_with_its_input_and_output_schemas()
    {
        var calculate = Assert.Single(_runtime.AsAIFunctions(["calculate"]));

        Assert.Equal("calculate", calculate.Name);
        Assert.Equal(new CalculateTool().Description, calculate.Description);
        Assert.Equal(new CalculateTool().InputSchema.GetRawText(), calculate.JsonSchema.GetRawText());
        Assert.Equal(new CalculateTool().OutputSchema.GetRawText(), calculate.ReturnJsonSchema?.GetRawText());
    }

    [Fact]
    public void All_tools_are_offered_unless_names_are_given()
    {
        Assert.Equal(["calculate", "echo", "throwing"], _runtime.AsAIFunctions().Select(f => f.Name));
        Assert.Equal(["echo"], _runtime.AsAIFunctions(["echo", "echo"]).Select(f => f.Name));
    }

    [Fact]
    public void Naming_an_unknown_tool_throws()
    {
        var error = Assert.Throws<ArgumentException>(() => _runtime.AsAIFunctions(["echo", "rm_rf"]));
        Assert.Contains("rm_rf", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_valid_call_returns_the_result()
    {
        var calculate = _runtime.AsAIFunctions(["calculate"])[0];

        var result = await calculate.InvokeAsync(new AIFunctionArguments { ["expression"] = "2 ^ 10" }, Cancel);

        Assert.Equal(1024, Assert.IsType<JsonElement>(result).GetProperty("value").GetDouble());
    }

    [Fact]
    public async Task An_invalid_call_returns_an_error_object_instead_of_throwing()
    {
        var calculate = _runtime.AsAIFunctions(["calculate"])[0];

        var result = await calculate.InvokeAsync(new AIFunctionArguments { ["expression"] = 5 }, Cancel);

        var error = Assert.IsType<JsonElement>(result).GetProperty("error");
        Assert.Equal("invalid_arguments", error.GetProperty("type").GetString());
        Assert.Equal("/expression", error.GetProperty("errors")[0].GetProperty("path").GetString());
    }

    [Fact]
    public async Task A_failing_tool_returns_an_error_object_without_internals()
    {
        var throwing = _runtime.AsAIFunctions(["throwing"])[0];

        var result = await throwing.InvokeAsync(new AIFunctionArguments(), Cancel);

        var error = Assert.IsType<JsonElement>(result).GetProperty("error");
        Assert.Equal("tool_failed", error.GetProperty("type").GetString());
        Assert.DoesNotContain("hunter2", error.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Function_invoking_chat_client_runs_the_tool_and_returns_its_result_to_the_model()
    {
        using var model = new ScriptedChatClient(new FunctionCallContent("call-1", "calculate", new Dictionary<string, object?>
        {
            ["expression"] = JsonDocument.Parse("\"6 * 7\"").RootElement,
        }));
        using var client = new ChatClientBuilder(model).UseFunctionInvocation().Build();

        var response = await client.GetResponseAsync("What is 6 * 7?", new ChatOptions { Tools = [.. _runtime.AsAIFunctions(["calculate"])] }, Cancel);

        Assert.Equal("done", response.Text);
        var result = Assert.IsType<JsonElement>(model.FunctionResult("call-1").Result);
        Assert.Equal(42, result.GetProperty("value").GetDouble());
    }

    [Fact]
    public async Task Function_invoking_chat_client_hands_validation_errors_back_to_the_model()
    {
        using var model = new ScriptedChatClient(new FunctionCallContent("call-1", "echo", new Dictionary<string, object?> { ["text"] = "hi" }));
        using var client = new ChatClientBuilder(model).UseFunctionInvocation().Build();

        await client.GetResponseAsync("Echo hi", new ChatOptions { Tools = [.. _runtime.AsAIFunctions(["echo"])] }, Cancel);

        var error = Assert.IsType<JsonElement>(model.FunctionResult("call-1").Result).GetProperty("error");
        var paths = error.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("path").GetString()).ToList();
        Assert.Contains("/message", paths);
        Assert.Contains("/text", paths);
    }

    /// <summary>A model that asks for one function call, then answers "done".</summary>
    private sealed class ScriptedChatClient(FunctionCallContent call) : IChatClient
    {
        private readonly List<List<ChatMessage>> _requests = [];

        public FunctionResultContent FunctionResult(string callId) => _requests.Last()
            .SelectMany(m => m.Contents).OfType<FunctionResultContent>().Single(r => r.CallId == callId);

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            _requests.Add(messages.ToList());
            return Task.FromResult(_requests.Count == 1
                ? new ChatResponse(new ChatMessage(ChatRole.Assistant, [call]))
                : new ChatResponse(new ChatMessage(ChatRole.Assistant, "done")));
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
