using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Ai.Gateway.Tools.BuiltIn;

/// <summary>The current time, in UTC or in an IANA time zone, from the injected <see cref="TimeProvider"/>.</summary>
public sealed class TimeNowTool(TimeProvider time) : ITool
{
    private static readonly JsonElement Input = SchemaJson.Parse("""
        {
          "type": "object",
          "properties": {
            "timeZone": {
              "type": "string", "minLength": 1, "maxLength": 64,
              "description": "An IANA time zone such as Europe/Paris or Asia/Riyadh. Default UTC."
            }
          },
          "additionalProperties": false
        }
        """);

    private static readonly JsonElement Output = SchemaJson.Parse("""
        {
          "type": "object",
          "properties": {
            "iso": { "type": "string", "format": "date-time", "description": "ISO 8601 local time with its UTC offset." },
            "unixMs": { "type": "integer", "description": "Milliseconds since 1970-01-01T00:00:00Z." },
            "timeZone": { "type": "string" },
            "utcOffset": { "type": "string", "pattern": "^[+-][0-9]{2}:[0-9]{2}$" }
          },
          "required": ["iso", "unixMs", "timeZone", "utcOffset"],
          "additionalProperties": false
        }
        """);

    public string Name => "time_now";

    public string Description => "The current date and time, in UTC or in the given IANA time zone.";

    public JsonElement InputSchema => Input;

    public JsonElement OutputSchema => Output;

    public Task<JsonNode?> InvokeAsync(JsonElement arguments, CancellationToken cancellationToken)
    {
        var zoneId = arguments.TryGetProperty("timeZone", out var requested) ? requested.GetString()! : "UTC";
        if (!TimeZoneInfo.TryFindSystemTimeZoneById(zoneId, out var zone))
        {
            throw new ToolArgumentException("/timeZone", $"Unknown time zone '{zoneId}'; use an IANA name such as Europe/Paris.");
        }

        var now = time.GetUtcNow();
        var local = TimeZoneInfo.ConvertTime(now, zone);
        return Task.FromResult<JsonNode?>(new JsonObject
        {
            ["iso"] = local.ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture),
            ["unixMs"] = now.ToUnixTimeMilliseconds(),
            ["timeZone"] = zoneId,
            ["utcOffset"] = local.ToString("zzz", CultureInfo.InvariantCulture),
        });
    }
}
