using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ai.Gateway.Tests.Fakes;

/// <summary>
/// A real HTTP server on loopback (Kestrel, port 0) that answers each request with the next scripted
/// <see cref="FakeReply"/> and records what it received. Replies queued for a model win over the shared
/// queue; when both are empty, <see cref="DefaultReply"/> answers. Thread-safe, so it also serves
/// concurrent load (benchmarks, rate-limit tests).
/// </summary>
public abstract class ScriptedServer : IAsyncDisposable
{
    private readonly ConcurrentQueue<FakeReply> _replies = new();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<FakeReply>> _repliesByModel = new(StringComparer.Ordinal);
    private readonly List<RecordedRequest> _requests = [];
    private readonly List<(int Count, TaskCompletionSource Signal)> _waiters = [];
    private readonly Lock _lock = new();
    private WebApplication? _app;

    /// <summary>The server's base address, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Answers when no scripted reply is queued. Each subclass picks a sensible default.</summary>
    public FakeReply DefaultReply { get; set; } = FakeReply.Body(501, "no scripted reply", "text/plain");

    /// <summary>Every request received so far, in arrival order.</summary>
    public IReadOnlyList<RecordedRequest> Requests
    {
        get
        {
            lock (_lock)
            {
                return [.. _requests];
            }
        }
    }

    /// <summary>Queues replies for the next requests, whatever their model.</summary>
    public void Enqueue(params FakeReply[] replies)
    {
        foreach (var reply in replies)
        {
            _replies.Enqueue(reply);
        }
    }

    /// <summary>Queues replies for the next requests for <paramref name="model"/> (e.g. to fail one model and not its fallback).</summary>
    public void EnqueueFor(string model, params FakeReply[] replies)
    {
        var queue = _repliesByModel.GetOrAdd(model, _ => new ConcurrentQueue<FakeReply>());
        foreach (var reply in replies)
        {
            queue.Enqueue(reply);
        }
    }

    /// <summary>Waits until request number <paramref name="index"/> (0-based) has arrived, and returns it.</summary>
    public async Task<RecordedRequest> WaitForRequestAsync(int index = 0, TimeSpan? timeout = null)
    {
        TaskCompletionSource signal;
        lock (_lock)
        {
            if (_requests.Count > index)
            {
                return _requests[index];
            }

            signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((index + 1, signal));
        }

        await signal.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(15));
        return Requests[index];
    }

    /// <summary>Forgets received requests and queued replies (the default reply stays).</summary>
    public void Reset()
    {
        _replies.Clear();
        _repliesByModel.Clear();
        lock (_lock)
        {
            _requests.Clear();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Which model a request is for; null when it does not say.</summary>
    protected abstract string? ModelOf(string path, JsonNode? body);

    protected async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "FakeServer" });
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        // A reply still stalling when a test ends must not hold up disposal for the default 30 s.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(1));
        _app = builder.Build();
        _app.Run(HandleAsync);
        await _app.StartAsync();

        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address.TrimEnd('/') + "/");
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        JsonNode? json = null;
        try
        {
            json = body.Length > 0 ? JsonNode.Parse(body) : null;
        }
        catch (System.Text.Json.JsonException)
        {
        }

        var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        var path = context.Request.Path.Value ?? "";
        RecordedRequest request;
        lock (_lock)
        {
            request = new RecordedRequest(_requests.Count, context.Request.Method, path, context.Request.QueryString.Value ?? "",
                headers, body, ModelOf(path, json));
            _requests.Add(request);
            foreach (var waiter in _waiters.Where(w => _requests.Count >= w.Count).ToList())
            {
                waiter.Signal.TrySetResult();
                _waiters.Remove(waiter);
            }
        }

        using var registration = context.RequestAborted.Register(request.MarkAborted);
        try
        {
            await NextReply(request.Model).WriteAsync(context, request);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
        }
        catch (IOException) when (context.RequestAborted.IsCancellationRequested)
        {
        }
        finally
        {
            request.MarkFinished();
        }
    }

    private FakeReply NextReply(string? model)
    {
        if (model is not null && _repliesByModel.TryGetValue(model, out var queue) && queue.TryDequeue(out var forModel))
        {
            return forModel;
        }

        return _replies.TryDequeue(out var next) ? next : DefaultReply;
    }
}
