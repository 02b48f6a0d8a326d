using System.Diagnostics;
using System.Text.Json;
using Communication.Bus;
using Microsoft.Extensions.Options;
using Orchestration.Api.Model;

namespace Orchestration.Api.Engine;

/// <summary>
/// Sends a step attempt as a signed TASK to the agent's topic: exactly-once delivery with the
/// attempt's stable id, replies to the shared results topic, and a span that continues the run's
/// trace so the bus hop, the agent's work and its model calls join the run's one trace.
/// </summary>
public sealed class BusTaskPublisher(IMessageBus bus, IOptions<OrchestrationOptions> options) : ITaskPublisher
{
    public async Task PublishAsync(TaskDispatch dispatch, string? traceParent, CancellationToken cancellationToken)
    {
        ActivityContext.TryParse(traceParent, null, out var parent);
        using var activity = OrchestrationTelemetry.ActivitySource.StartActivity(
            $"{dispatch.Task.Kind.ToString().ToLowerInvariant()} {dispatch.Task.StepId}", ActivityKind.Internal, parent);
        activity?.SetTag("orchestration.run.id", dispatch.Task.RunId);
        activity?.SetTag("orchestration.workflow.id", dispatch.Task.WorkflowId);
        activity?.SetTag("orchestration.step.id", dispatch.Task.StepId);
        activity?.SetTag("orchestration.step.attempt", dispatch.Task.Attempt);
        activity?.SetTag("orchestration.agent.id", dispatch.Task.AgentId);

        await bus.PublishAsync(new OutgoingMessage(MessageType.Task, dispatch.Topic, JsonSerializer.SerializeToUtf8Bytes(dispatch.Task, RunJson.Options))
        {
            Id = dispatch.MessageId,
            To = [dispatch.Task.AgentId],
            Qos = QualityOfService.ExactlyOnce,
            ReplyTo = options.Value.ResultsTopic,
            CorrelationId = dispatch.MessageId,
        }, cancellationToken);
    }
}
