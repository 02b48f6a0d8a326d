namespace Ai.Gateway.Tools;

/// <summary>A tool failure whose message is safe to show the caller (the API answers 502 with it).</summary>
public class ToolException(string message, Exception? innerException = null) : Exception(message, innerException);

/// <summary>
/// The arguments passed the input schema, but the tool cannot use them (e.g. division by zero,
/// a host off the allow-list). The API answers 422 with <see cref="Path"/> as the error's location.
/// </summary>
public sealed class ToolArgumentException(string path, string message) : ToolException(message)
{
    /// <summary>A JSON Pointer into the arguments, e.g. <c>/expression</c>.</summary>
    public string Path { get; } = path;
}
