using System.Diagnostics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Marks work that runs on its own schedule (heartbeats, registry refreshes, polls): an outgoing call
/// made inside <see cref="Begin"/> with no trace around it starts no trace, and the service it calls
/// records none either (the call carries an unsampled <c>traceparent</c>).
/// </summary>
public static class BackgroundWork
{
    private static readonly AsyncLocal<bool> Active = new();

    internal static bool IsActive => Active.Value;

    /// <summary>Until the returned scope is disposed, calls from this async flow are background work.</summary>
    public static IDisposable Begin()
    {
        var outer = Active.Value;
        Active.Value = true;
        return new Scope(outer);
    }

    private sealed class Scope(bool outer) : IDisposable
    {
        public void Dispose() => Active.Value = outer;
    }
}

/// <summary>
/// Keeps the dashboard readable: a client span with no parent is background work when it is a
/// database command (a stream read, a timer poll, a bus heartbeat: a request's commands have the
/// request as parent) or when it is made inside <see cref="BackgroundWork.Begin"/>. Such spans are
/// dropped; everything else follows its parent (requests, bus hops, agent tasks and model calls).
/// </summary>
internal sealed class BackgroundWorkSampler : Sampler
{
    private static readonly SamplingResult Drop = new(SamplingDecision.Drop);
    private readonly Sampler _inner = new ParentBasedSampler(new AlwaysOnSampler());

    public override SamplingResult ShouldSample(in SamplingParameters samplingParameters) =>
        samplingParameters.ParentContext.TraceId == default
        && samplingParameters.Kind == ActivityKind.Client
        && (BackgroundWork.IsActive || IsDatabaseCommand(samplingParameters.Tags))
            ? Drop
            : _inner.ShouldSample(samplingParameters);

    private static bool IsDatabaseCommand(IEnumerable<KeyValuePair<string, object?>>? tags) =>
        tags is not null && tags.Any(tag => tag.Key is "db.system" or "db.system.name");
}
