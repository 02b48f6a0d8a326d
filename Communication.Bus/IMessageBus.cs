namespace Communication.Bus;

/// <summary>The signed, at-least-once message bus on Redis Streams.</summary>
public interface IMessageBus
{
    /// <summary>Validates, signs (one signature per active key) and appends a message to <c>bus:{topic}</c>.</summary>
    /// <param name="message">The message.</param>
    /// <param name="cancellationToken">Cancels the publish.</param>
    /// <exception cref="EnvelopeValidationException">The message is not a valid envelope.</exception>
    Task<PublishReceipt> PublishAsync(OutgoingMessage message, CancellationToken cancellationToken = default);

    /// <summary>
    /// Publishes <paramref name="request"/> with <c>replyTo</c> set to this replica's reply topic and a correlation id
    /// (the request's, or a new one), and waits for the reply carrying that correlation id.
    /// </summary>
    /// <param name="request">The request, usually a <see cref="MessageType.Task"/>.</param>
    /// <param name="timeout">How long to wait for the reply.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <exception cref="TimeoutException">No reply arrived within <paramref name="timeout"/>.</exception>
    Task<BusMessage> RequestAsync(OutgoingMessage request, TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary>
    /// Publishes <paramref name="reply"/> to <paramref name="request"/>'s <c>replyTo</c> topic, addressed to the
    /// request's sender, with the request's correlation id (or its id when it has none).
    /// </summary>
    /// <param name="request">The request being answered.</param>
    /// <param name="reply">The reply; its <c>Topic</c>, <c>To</c> and <c>CorrelationId</c> are replaced.</param>
    /// <param name="cancellationToken">Cancels the publish.</param>
    /// <exception cref="InvalidOperationException">The request has no <c>replyTo</c>.</exception>
    Task<PublishReceipt> ReplyAsync(BusMessage request, OutgoingMessage reply, CancellationToken cancellationToken = default);

    /// <summary>
    /// Starts a consumer loop on <c>bus:{topic}</c> in a consumer group (created idempotently). Only validated,
    /// verified, fresh and non-replayed messages reach <paramref name="handler"/>; the others go to the dead-letter
    /// stream. A handler that throws fails the attempt (retried, then redelivered, then dead-lettered).
    /// </summary>
    /// <param name="topic">The topic.</param>
    /// <param name="handler">The message handler.</param>
    /// <param name="options">Subscription options; <c>Bus:Subscription</c> when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the start (not the subscription: dispose it to stop).</param>
    /// <returns>The running subscription; dispose it for a graceful stop.</returns>
    Task<IBusSubscription> SubscribeAsync(
        string topic,
        Func<BusMessage, CancellationToken, Task> handler,
        SubscriptionOptions? options = null,
        CancellationToken cancellationToken = default);
}

/// <summary>A running subscription. Disposing it stops reading, lets in-flight handlers finish and acknowledges them.</summary>
public interface IBusSubscription : IAsyncDisposable
{
    /// <summary>The topic.</summary>
    string Topic { get; }

    /// <summary>The consumer group.</summary>
    string Group { get; }

    /// <summary>The consumer name (this replica).</summary>
    string Consumer { get; }
}

/// <summary>Convenience methods on <see cref="IMessageBus"/>.</summary>
public static class MessageBusExtensions
{
    /// <summary>Serializes <paramref name="payload"/> and replies to <paramref name="request"/> (see <see cref="IMessageBus.ReplyAsync"/>).</summary>
    /// <typeparam name="T">The payload type.</typeparam>
    /// <param name="bus">The bus.</param>
    /// <param name="request">The request being answered.</param>
    /// <param name="payload">The reply payload.</param>
    /// <param name="type">The reply type; <see cref="MessageType.TaskResult"/> by default.</param>
    /// <param name="cancellationToken">Cancels the publish.</param>
    public static Task<PublishReceipt> ReplyAsync<T>(
        this IMessageBus bus,
        BusMessage request,
        T payload,
        MessageType type = MessageType.TaskResult,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(bus);
        ArgumentNullException.ThrowIfNull(request);
        return bus.ReplyAsync(request, OutgoingMessage.Create(type, request.ReplyTo ?? request.Topic, payload, qos: request.Qos), cancellationToken);
    }
}
