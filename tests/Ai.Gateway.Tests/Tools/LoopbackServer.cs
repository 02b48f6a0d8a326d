using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Ai.Gateway.Tests.Tools;

/// <summary>A small Kestrel app on 127.0.0.1 and a free port, for http_get to call.</summary>
public sealed class LoopbackServer : IAsyncDisposable
{
    public const int BigBodyBytes = 10_000;
    private readonly WebApplication _app;
    private int _flakyCalls;

    private LoopbackServer(WebApplication app) => _app = app;

    /// <summary>e.g. http://127.0.0.1:54321</summary>
    public string BaseUrl { get; private set; } = "";

    public int Port => new Uri(BaseUrl).Port;

    /// <summary>Completes when a request reaches /stall (which then waits until the client gives up).</summary>
    public TaskCompletionSource Stalled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static async Task<LoopbackServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new LoopbackServer(app);

        app.MapGet("/hello", () => "hello");
        app.MapGet("/json", () => Results.Json(new { ok = true }));
        app.MapGet("/big", () => Results.Text(new string('a', BigBodyBytes), "text/plain"));
        app.MapGet("/binary", () => Results.Bytes([0, 1, 2, 255], "application/octet-stream"));
        app.MapGet("/redirect/same", () => Results.Redirect("/hello"));
        app.MapGet("/redirect/localhost", () => Results.Redirect($"http://localhost:{server.Port}/hello"));
        app.MapGet("/redirect/elsewhere", () => Results.Redirect("http://not-allowed.example/hello"));
        app.MapGet("/redirect/loop", () => Results.Redirect("/redirect/loop"));
        app.MapGet("/flaky", () => Interlocked.Increment(ref server._flakyCalls) == 1 ? Results.StatusCode(503) : Results.Text("recovered"));
        app.MapGet("/stall", async (HttpContext context) =>
        {
            server.Stalled.TrySetResult();
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        });

        await app.StartAsync();
        server.BaseUrl = app.Urls.Single();
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
