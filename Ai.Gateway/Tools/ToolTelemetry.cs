using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Ai.Gateway.Tools;

/// <summary>
/// The tool runtime's metrics (meter <c>Ai.Gateway.Tools</c>): calls and their duration, by tool and
/// outcome. Spans come from the caller: the ASP.NET Core request, or FunctionInvokingChatClient's
/// <c>execute_tool</c> span when a model calls the tool.
/// </summary>
public sealed class ToolTelemetry
{
    public const string MeterName = "Ai.Gateway.Tools";
    public const string InvocationsName = "ai_gateway.tool.invocations";
    public const string DurationName = "ai_gateway.tool.duration";

    private readonly Counter<long> _invocations;
    private readonly Histogram<double> _duration;

    public ToolTelemetry(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _invocations = meter.CreateCounter<long>(InvocationsName, "{call}", "Tool calls, by tool and outcome.");
        _duration = meter.CreateHistogram<double>(DurationName, "s", "How long tool calls take, validation included.");
    }

    internal void Record(ToolInvocationResult result)
    {
        var tags = new TagList
        {
            { "gen_ai.tool.name", result.Tool },
            { "ai_gateway.tool.outcome", Outcome(result.Status) },
        };
        _invocations.Add(1, tags);
        _duration.Record(result.Latency.TotalSeconds, tags);
    }

    private static string Outcome(ToolInvocationStatus status) => status switch
    {
        ToolInvocationStatus.Succeeded => "succeeded",
        ToolInvocationStatus.NotFound => "not_found",
        ToolInvocationStatus.InvalidArguments => "invalid_arguments",
        _ => "failed",
    };
}
