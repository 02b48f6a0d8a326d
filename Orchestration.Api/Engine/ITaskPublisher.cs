namespace Orchestration.Api.Engine;

/// <summary>Sends a stored task to its agent. Must be idempotent per message id: the outbox may resend.</summary>
public interface ITaskPublisher
{
    Task PublishAsync(TaskDispatch dispatch, string? traceParent, CancellationToken cancellationToken);
}
