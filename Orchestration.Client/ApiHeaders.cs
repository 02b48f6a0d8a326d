namespace Orchestration.Client;

/// <summary>HTTP header names the services understand.</summary>
public static class ApiHeaders
{
    /// <summary>The API key header (<c>Authorization: Bearer &lt;key&gt;</c> works too).</summary>
    public const string ApiKey = "X-Api-Key";

    /// <summary>Resumes a run's event stream after the event with this id.</summary>
    public const string LastEventId = "Last-Event-ID";
}
