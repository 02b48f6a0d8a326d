namespace Communication.Bus;

/// <summary>
/// Settings of the communication bus, bound from the <c>Bus</c> configuration section.
/// </summary>
public sealed class CommunicationBusSettings
{
    /// <summary>The configuration section the settings are bound from.</summary>
    public const string SectionName = "Bus";

    /// <summary>
    /// The Redis connection string. When not set, <c>ConnectionStrings:{connectionName}</c> is used
    /// (the Aspire client integration reads it).
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>Disables the bus health check. Default <see langword="false"/>.</summary>
    public bool DisableHealthChecks { get; set; }

    /// <summary>Disables the bus tracing (ActivitySource). Default <see langword="false"/>.</summary>
    public bool DisableTracing { get; set; }
}
