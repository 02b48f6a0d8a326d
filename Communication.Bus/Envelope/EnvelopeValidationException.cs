namespace Communication.Bus;

/// <summary>One problem with one envelope field.</summary>
/// <param name="Field">The field name as on the wire (<c>id</c>, <c>ts</c>, <c>to[1]</c>, <c>meta.traceparent</c>, <c>payload</c>, ...).</param>
/// <param name="Message">What is wrong.</param>
public readonly record struct EnvelopeError(string Field, string Message)
{
    /// <inheritdoc />
    public override string ToString() => Field + ": " + Message;
}

/// <summary>Thrown by <see cref="IMessageBus.PublishAsync"/> for a message that is not a valid envelope.</summary>
public sealed class EnvelopeValidationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public EnvelopeValidationException()
        : this([])
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public EnvelopeValidationException(string message)
        : base(message)
    {
        Errors = [];
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The inner exception.</param>
    public EnvelopeValidationException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [];
    }

    /// <summary>Creates the exception from field-level errors.</summary>
    /// <param name="errors">The errors.</param>
    public EnvelopeValidationException(IReadOnlyList<EnvelopeError> errors)
        : base("Invalid envelope: " + string.Join("; ", errors))
    {
        Errors = errors;
    }

    /// <summary>The field-level errors.</summary>
    public IReadOnlyList<EnvelopeError> Errors { get; }
}
