using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Ai.Gateway.Policy;

namespace Ai.Gateway.Tests.Policy;

/// <summary>
/// The generation's spans: a tool the model calls is an <c>execute_tool</c> span in the request's trace (the
/// function-invoking client needs the chat spans' ActivitySource from the client below it), and with
/// <c>Gateway:Policy:CaptureContent</c> on, the chat span carries the prompt (off: see GenerationFeatureTests).
/// Each request is sent inside an activity of the test's own, so its trace id tells its spans from those of tests running in parallel.
/// </summary>
public sealed class GenerationTracingTests : IDisposable
{
    private readonly RedisFixture _redis;
    private readonly ConcurrentBag<Activity> _stopped = [];
    private readonly ActivityListener _listener;

    public GenerationTracingTests(RedisFixture redis)
    {
        _redis = redis;
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is GatewayChatClient.TelemetrySource or "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _stopped.Add,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _listener.Dispose();

    [Fact]
    public async Task A_tool_the_model_calls_is_an_execute_tool_span_in_the_requests_trace()
    {
        await using var gateway = await PolicyGateway.StartAsync(_redis, gemini: null, [new TestModel("main")]);
        var (response, trace) = await SendAsync(gateway, new { input = """Use tool calculate {"expression": "6 * 7"}""", tools = new[] { "calculate" } });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var spans = _stopped.Where(a => a.TraceId == trace).ToList();
        var tool = Assert.Single(spans, a => a.OperationName.StartsWith("execute_tool", StringComparison.Ordinal));
        Assert.Equal("calculate", tool.GetTagItem("gen_ai.tool.name"));
        Assert.Equal(GatewayChatClient.TelemetrySource, tool.Source.Name);
        // The model was asked twice (the call, then the answer with the tool's result): both are chat spans of the same trace.
        Assert.Equal(2, spans.Count(a => a.OperationName.StartsWith("chat", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task With_content_capture_on_the_chat_span_carries_the_prompt()
    {
        await using var gateway = await PolicyGateway.StartAsync(_redis, gemini: null, [new TestModel("main")],
            new Dictionary<string, string?> { ["Gateway:Policy:CaptureContent"] = "true" });
        var (response, trace) = await SendAsync(gateway, new { input = "captured-prompt-text" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var chat = Assert.Single(_stopped, a => a.TraceId == trace && a.OperationName.StartsWith("chat", StringComparison.Ordinal));
        Assert.Contains("captured-prompt-text", chat.GetTagItem("gen_ai.input.messages") as string ?? "", StringComparison.Ordinal);
        Assert.NotNull(chat.GetTagItem("gen_ai.output.messages"));
    }

    private static async Task<(HttpResponseMessage Response, ActivityTraceId Trace)> SendAsync(PolicyGateway gateway, object body)
    {
        using var caller = new Activity("test-caller").SetIdFormat(ActivityIdFormat.W3C).Start();
        caller.ActivityTraceFlags = ActivityTraceFlags.Recorded;
        var response = await gateway.Client.PostAsJsonAsync("/v1/generate", body, Ct);
        await response.Content.LoadIntoBufferAsync(Ct);
        return (response, caller.TraceId);
    }
}
