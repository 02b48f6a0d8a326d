namespace Orchestration.Api.Tests.Integration;

/// <summary>An <see cref="HttpClient"/> in a test's list of things to dispose in order (with the processes it talks to).</summary>
internal sealed class DisposableClient(HttpClient client) : IAsyncDisposable
{
    public ValueTask DisposeAsync()
    {
        client.Dispose();
        return ValueTask.CompletedTask;
    }
}
