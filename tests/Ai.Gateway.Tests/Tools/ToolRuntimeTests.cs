using System.Text.Json;
using System.Text.Json.Nodes;
using Ai.Gateway.Tools;
using Ai.Gateway.Tools.BuiltIn;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using static Ai.Gateway.Tests.Tools.FakeTool;

namespace Ai.Gateway.Tests.Tools;

public sealed class ToolRuntimeTests
{
    private readonly FakeTimeProvider _time = new();
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Valid_arguments_run_the_tool_and_return_its_validated_result()
    {
        var runtime = Runtime(_time, new CalculateTool());

        var outcome = await runtime.InvokeAsync("calculate", JsonOf("""{ "expression": "6 * 7" }"""), Cancel);

        Assert.Equal(ToolInvocationStatus.Succeeded, outcome.Status);
        Assert.Equal(42, outcome.Result.GetProperty("value").GetDouble());
    }

    [Fact]
    public async Task Invalid_arguments_are_reported_with_json_pointer_paths_and_the_tool_does_not_run()
    {
        var tool = Profile();
        var runtime = Runtime(_time, tool);

        var outcome = await runtime.InvokeAsync("profile", JsonOf("""{ "user": { "age": -1 }, "tags": ["a", 2], "extra": true }"""), Cancel);

        Assert.Equal(ToolInvocationStatus.InvalidArguments, outcome.Status);
        var paths = outcome.Errors.Select(e => e.Path).ToList();
        Assert.Contains("/user/name", paths);
        Assert.Contains("/user/age", paths);
        Assert.Contains("/tags/1", paths);
        Assert.Contains("/extra", paths);
        Assert.DoesNotContain("/tags/0", paths);
        Assert.Equal("Required property is missing.", outcome.Errors.Single(e => e.Path == "/user/name").Message);
        Assert.Equal(0, tool.Calls);
    }

    [Fact]
    public async Task Missing_arguments_count_as_an_empty_object()
    {
        var runtime = Runtime(_time, new EchoTool());

        var outcome = await runtime.InvokeAsync("echo", default, Cancel);

        Assert.Equal(ToolInvocationStatus.InvalidArguments, outcome.Status);
        Assert.Equal("/message", Assert.Single(outcome.Errors).Path);
    }

    [Fact]
    public async Task Arguments_that_are_not_an_object_are_invalid_at_the_root()
    {
        var runtime = Runtime(_time, new EchoTool());

        var outcome = await runtime.InvokeAsync("echo", JsonOf("[1]"), Cancel);

        Assert.Equal(ToolInvocationStatus.InvalidArguments, outcome.Status);
        Assert.Contains(outcome.Errors, e => e.Path == "");
    }

    [Fact]
    public async Task An_unknown_tool_is_not_found()
    {
        var runtime = Runtime(_time, new EchoTool());

        var outcome = await runtime.InvokeAsync("nope", JsonOf("{}"), Cancel);

        Assert.Equal(ToolInvocationStatus.NotFound, outcome.Status);
    }

    [Fact]
    public async Task A_result_that_breaks_the_output_schema_is_a_failure_with_paths()
    {
        var runtime = Runtime(_time, BadOutput());

        var outcome = await runtime.InvokeAsync("bad_output", JsonOf("{}"), Cancel);

        Assert.Equal(ToolInvocationStatus.Failed, outcome.Status);
        Assert.Contains("output schema", outcome.Error, StringComparison.Ordinal);
        Assert.Equal("/value", Assert.Single(outcome.Errors).Path);
    }

    [Fact]
    public async Task A_throwing_tool_is_a_failure_that_does_not_leak_the_exception()
    {
        var runtime = Runtime(_time, Throwing());

        var outcome = await runtime.InvokeAsync("throwing", JsonOf("{}"), Cancel);

        Assert.Equal(ToolInvocationStatus.Failed, outcome.Status);
        Assert.Equal("The tool 'throwing' failed unexpectedly.", outcome.Error);
        Assert.DoesNotContain("hunter2", outcome.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tool_exception_is_a_failure_with_its_message()
    {
        var runtime = Runtime(_time, new FakeTool("upstream", AnyObject, AnyObject, (_, _) => throw new ToolException("The upstream answered 503.")));

        var outcome = await runtime.InvokeAsync("upstream", JsonOf("{}"), Cancel);

        Assert.Equal(ToolInvocationStatus.Failed, outcome.Status);
        Assert.Equal("The upstream answered 503.", outcome.Error);
    }

    [Fact]
    public async Task A_tool_argument_exception_is_invalid_arguments_at_the_tools_path()
    {
        var runtime = Runtime(_time, new CalculateTool());

        var outcome = await runtime.InvokeAsync("calculate", JsonOf("""{ "expression": "1 / 0" }"""), Cancel);

        Assert.Equal(ToolInvocationStatus.InvalidArguments, outcome.Status);
        var error = Assert.Single(outcome.Errors);
        Assert.Equal("/expression", error.Path);
        Assert.Contains("Division by zero", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tool_that_runs_past_the_time_limit_fails()
    {
        var started = new TaskCompletionSource();
        var runtime = Runtime(_time, new FakeTool("slow", AnyObject, AnyObject, async (_, token) =>
        {
            started.SetResult();
            await Task.Delay(Timeout.Infinite, token);
            return null;
        }));

        var call = runtime.InvokeAsync("slow", JsonOf("{}"), Cancel);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10), Cancel);
        _time.Advance(TimeSpan.FromSeconds(new ToolRuntimeOptions().TimeoutSeconds));
        var outcome = await call.WaitAsync(TimeSpan.FromSeconds(10), Cancel);

        Assert.Equal(ToolInvocationStatus.Failed, outcome.Status);
        Assert.Equal("The tool did not finish within 30 s.", outcome.Error);
    }

    [Fact]
    public async Task Cancellation_by_the_caller_propagates()
    {
        using var cancel = new CancellationTokenSource();
        var runtime = Runtime(_time, new FakeTool("slow", AnyObject, AnyObject, async (_, token) =>
        {
            await cancel.CancelAsync();
            await Task.Delay(Timeout.Infinite, token);
            return null;
        }));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => runtime.InvokeAsync("slow", JsonOf("{}"), cancel.Token));
    }

    [Fact]
    public async Task Latency_is_measured_with_the_time_provider()
    {
        var runtime = Runtime(_time, new FakeTool("ticking", AnyObject, AnyObject, (_, _) =>
        {
            _time.Advance(TimeSpan.FromMilliseconds(250));
            return Task.FromResult<JsonNode?>(new JsonObject());
        }));

        var outcome = await runtime.InvokeAsync("ticking", JsonOf("{}"), Cancel);

        Assert.Equal(TimeSpan.FromMilliseconds(250), outcome.Latency);
    }

    [Fact]
    public async Task Calls_are_counted_and_timed_by_tool_and_outcome()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<IMeterFactory>();
        using var calls = new MetricCollector<long>(meters, ToolTelemetry.MeterName, ToolTelemetry.InvocationsName);
        using var durations = new MetricCollector<double>(meters, ToolTelemetry.MeterName, ToolTelemetry.DurationName);
        var runtime = new ToolRuntime([new EchoTool()], _time, Options.Create(new ToolRuntimeOptions()), NullLogger<ToolRuntime>.Instance, new ToolTelemetry(meters));

        await runtime.InvokeAsync("echo", JsonOf("""{ "message": "hi" }"""), Cancel);
        await runtime.InvokeAsync("echo", JsonOf("{}"), Cancel);
        await runtime.InvokeAsync("nope", JsonOf("{}"), Cancel);

        var measurements = calls.GetMeasurementSnapshot();
        Assert.Equal(["succeeded", "invalid_arguments", "not_found"], measurements.Select(m => m.Tags["ai_gateway.tool.outcome"]));
        Assert.Equal(["echo", "echo", "nope"], measurements.Select(m => m.Tags["gen_ai.tool.name"]));
        Assert.Equal(3, durations.GetMeasurementSnapshot().Count);
    }

    [Fact]
    public void Tools_are_listed_by_name_with_their_schemas()
    {
        var runtime = Runtime(_time, new TimeNowTool(_time), new EchoTool(), new CalculateTool());

        Assert.Equal(["calculate", "echo", "time_now"], runtime.Tools.Select(t => t.Name));
        var echo = runtime.Tools[1];
        Assert.Equal("object", echo.InputSchema.GetProperty("type").GetString());
        Assert.Equal(JsonValueKind.Object, echo.OutputSchema.ValueKind);
    }

    [Theory]
    [InlineData("Bad-Name", FakeTool.AnyObject, "must match")]
    [InlineData("no_object", """{ "type": "string" }""", "must have \"type\": \"object\"")]
    [InlineData("bad_schema", """{ "type": "object", "properties": 5 }""", "input schema of tool 'bad_schema' is not valid")]
    public void Tools_with_a_bad_name_or_schema_are_refused_at_start_up(string name, string inputSchema, string expected)
    {
        var tool = new FakeTool(name, inputSchema, AnyObject, (_, _) => Task.FromResult<JsonNode?>(null));

        var error = Assert.Throws<InvalidOperationException>(() => Runtime(_time, tool));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_tools_with_one_name_are_refused_at_start_up()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Runtime(_time, new EchoTool(), new EchoTool()));
        Assert.Contains("'echo'", error.Message, StringComparison.Ordinal);
    }
}
