using System.Text.Json;
using System.Text.Json.Nodes;

namespace Ai.Gateway.Tools;

/// <summary>
/// A tool that a client or a model may call. The runtime validates the arguments against
/// <see cref="InputSchema"/> before <see cref="InvokeAsync"/> runs and the result against
/// <see cref="OutputSchema"/> after it.
/// </summary>
public interface ITool
{
    /// <summary>Lower-case letters, digits and underscores, e.g. <c>http_get</c>.</summary>
    string Name { get; }

    string Description { get; }

    /// <summary>A JSON Schema (2020-12) object describing the arguments object.</summary>
    JsonElement InputSchema { get; }

    /// <summary>A JSON Schema (2020-12) describing the result.</summary>
    JsonElement OutputSchema { get; }

    /// <summary>
    /// Runs the tool on arguments that already passed <see cref="InputSchema"/>. Throw
    /// <see cref="ToolArgumentException"/> for arguments the tool cannot use and
    /// <see cref="ToolException"/> for a failure whose message the caller may read.
    /// </summary>
    Task<JsonNode?> InvokeAsync(JsonElement arguments, CancellationToken cancellationToken);
}
