using System.Text.Json.Nodes;

namespace Ai.Gateway.Tests.Fakes;

/// <summary>One request a fake server received: what was sent, and whether the client went away.</summary>
public sealed class RecordedRequest
{
    private readonly TaskCompletionSource _aborted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private JsonNode? _json;

    internal RecordedRequest(int index, string method, string path, string query, IReadOnlyDictionary<string, string> headers, string body, string? model)
    {
        Index = index;
        Method = method;
        Path = path;
        Query = query;
        Headers = headers;
        Body = body;
        Model = model;
    }

    /// <summary>0 for the first request the server received, and so on.</summary>
    public int Index { get; }

    public string Method { get; }

    public string Path { get; }

    /// <summary>The query string including its leading <c>?</c>, or empty.</summary>
    public string Query { get; }

    public string PathAndQuery => Path + Query;

    /// <summary>Request headers, case-insensitive; repeated headers are joined with commas.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; }

    public string Body { get; }

    /// <summary>The model the request was for: from a Gemini path, or an OpenAI body's <c>model</c>.</summary>
    public string? Model { get; }

    /// <summary>The body parsed as JSON (throws if it is not JSON).</summary>
    public JsonNode Json => _json ??= JsonNode.Parse(Body) ?? throw new InvalidOperationException("The body is JSON null.");

    /// <summary>Completes when the client aborted the request (cancellation, timeout, dropped connection).</summary>
    public Task Aborted => _aborted.Task;

    /// <summary>Completes when the server has finished with the request, answered or aborted.</summary>
    public Task Finished => _finished.Task;

    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;

    internal void MarkAborted() => _aborted.TrySetResult();

    internal void MarkFinished() => _finished.TrySetResult();
}
