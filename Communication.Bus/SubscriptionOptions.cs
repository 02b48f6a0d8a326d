namespace Communication.Bus;

/// <summary>
/// Options of one subscription. The defaults come from the <c>Bus:Subscription</c> configuration section; start from
/// those with <c>settings.Subscription with { ... }</c>.
/// </summary>
public sealed record SubscriptionOptions
{
    /// <summary>The consumer group; <c>Bus:ServiceName</c> when <see langword="null"/> (one group per service).</summary>
    public string? Group { get; set; }

    /// <summary>The consumer name; <c>Bus:ConsumerName</c> when <see langword="null"/> (one per replica).</summary>
    public string? Consumer { get; set; }

    /// <summary>How many handlers may run at once. Default 4.</summary>
    public int Concurrency { get; set; } = 4;

    /// <summary>
    /// How many deliveries an entry gets before it is moved to the dead-letter stream with reason
    /// <c>max-deliveries</c>. Default 5.
    /// </summary>
    public int MaxDeliveries { get; set; } = 5;

    /// <summary>
    /// How long an entry stays pending (unacknowledged, with no heartbeat from its consumer) before another consumer
    /// reclaims it with <c>XAUTOCLAIM</c>. Default 30 seconds.
    /// </summary>
    public TimeSpan ClaimIdleTime { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>In-process retries of a failing handler within one delivery (Polly, exponential backoff with jitter). Default 2.</summary>
    public int HandlerRetries { get; set; } = 2;

    /// <summary>The first retry delay. Default 200 ms.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The longest retry delay. Default 5 seconds.</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The failure ratio (after retries) that opens the subscription's circuit breaker. Default 0.5.</summary>
    public double CircuitBreakerFailureRatio { get; set; } = 0.5;

    /// <summary>The number of handled messages in the sampling window before the breaker may open. Default 10.</summary>
    public int CircuitBreakerMinimumThroughput { get; set; } = 10;

    /// <summary>The breaker's sampling window. Default 30 seconds.</summary>
    public TimeSpan CircuitBreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the breaker stays open (the subscription pauses reading). Default 5 seconds.</summary>
    public TimeSpan CircuitBreakerBreakDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The longest wait between reads when the stream is idle. Publishers of this library also wake consumers through
    /// a pub/sub poke, so this bounds the latency only for other publishers. Default 1 second.
    /// </summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a graceful stop waits for in-flight handlers before cancelling them. Default 30 seconds.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// When the consumer group does not exist yet, create it at the start of the stream (<c>0</c>) instead of its end
    /// (<c>$</c>, the default: only messages published after the group was created).
    /// </summary>
    public bool ReadFromBeginning { get; set; }

    /// <summary>Returns the problems with these options, one message per field; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Group is not null && !BusProtocol.IsValidName(Group))
        {
            errors.Add($"Group '{Group}' must match ^[A-Za-z0-9._:-]{{1,200}}$.");
        }

        if (Consumer is not null && !BusProtocol.IsValidName(Consumer))
        {
            errors.Add($"Consumer '{Consumer}' must match ^[A-Za-z0-9._:-]{{1,200}}$.");
        }

        if (Concurrency is < 1 or > 1024)
        {
            errors.Add($"Concurrency must be between 1 and 1024 (was {Concurrency}).");
        }

        if (MaxDeliveries is < 1 or > 1000)
        {
            errors.Add($"MaxDeliveries must be between 1 and 1000 (was {MaxDeliveries}).");
        }

        if (ClaimIdleTime < TimeSpan.FromMilliseconds(50))
        {
            errors.Add($"ClaimIdleTime must be at least 50 ms (was {ClaimIdleTime}).");
        }

        if (HandlerRetries is < 0 or > 100)
        {
            errors.Add($"HandlerRetries must be between 0 and 100 (was {HandlerRetries}).");
        }

        if (RetryBaseDelay < TimeSpan.Zero || RetryMaxDelay < RetryBaseDelay)
        {
            errors.Add($"RetryBaseDelay must be non-negative and not above RetryMaxDelay (were {RetryBaseDelay} and {RetryMaxDelay}).");
        }

        if (CircuitBreakerFailureRatio is <= 0 or > 1)
        {
            errors.Add($"CircuitBreakerFailureRatio must be in (0, 1] (was {CircuitBreakerFailureRatio}).");
        }

        if (CircuitBreakerMinimumThroughput < 2)
        {
            errors.Add($"CircuitBreakerMinimumThroughput must be at least 2 (was {CircuitBreakerMinimumThroughput}).");
        }

        if (CircuitBreakerSamplingDuration < TimeSpan.FromMilliseconds(500))
        {
            errors.Add($"CircuitBreakerSamplingDuration must be at least 500 ms (was {CircuitBreakerSamplingDuration}).");
        }

        if (CircuitBreakerBreakDuration < TimeSpan.FromMilliseconds(500))
        {
            errors.Add($"CircuitBreakerBreakDuration must be at least 500 ms (was {CircuitBreakerBreakDuration}).");
        }

        if (PollInterval < TimeSpan.FromMilliseconds(1) || PollInterval > TimeSpan.FromMinutes(1))
        {
            errors.Add($"PollInterval must be between 1 ms and 1 minute (was {PollInterval}).");
        }

        if (ShutdownTimeout < TimeSpan.Zero)
        {
            errors.Add($"ShutdownTimeout must not be negative (was {ShutdownTimeout}).");
        }

        return errors;
    }
}
