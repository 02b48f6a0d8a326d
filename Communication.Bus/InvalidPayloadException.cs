namespace Communication.Bus;

/// <summary>
/// Thrown by a handler for a message that can never be handled: well-formed and correctly signed, but its payload is
/// not what the topic carries (e.g. <c>[]</c> where a task result is expected). The subscription dead-letters the
/// entry at once with reason <see cref="RejectionReasons.InvalidPayload"/>: no retry, no redelivery, and it does not
/// count as a handler failure for the circuit breaker.
/// </summary>
public sealed class InvalidPayloadException : Exception
{
    /// <summary>Creates the exception.</summary>
    public InvalidPayloadException()
        : base("The payload is not valid for this topic.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">Why the payload cannot be handled; written in the dead letter's <c>dlq.detail</c>.</param>
    public InvalidPayloadException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">Why the payload cannot be handled; written in the dead letter's <c>dlq.detail</c>.</param>
    /// <param name="innerException">The cause, e.g. a <see cref="System.Text.Json.JsonException"/>.</param>
    public InvalidPayloadException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
