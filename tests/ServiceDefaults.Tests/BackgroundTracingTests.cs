using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Trace;
using StackExchange.Redis;
using TestSupport;

namespace ServiceDefaults.Tests;

/// <summary>
/// A readable dashboard: background Redis commands (stream reads, timer polls, bus heartbeats) and
/// background HTTP calls (agent heartbeats, registry refreshes) start no trace, while requests, and the
/// Redis commands and HTTP calls they make, still do. Spans go to an in-memory exporter.
/// </summary>
public sealed class BackgroundTracingTests : IAsyncLifetime
{
    private readonly List<Activity> _spans = [];
    private RedisServer _redis = null!;
    private WebApplication _app = null!;
    private HttpClient _client = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration["ConnectionStrings:redis"] = _redis.ConnectionString;
        builder.AddServiceDefaults();
        builder.AddRedisClient("redis");
        builder.Services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(_spans));

        _app = builder.Build();
        _app.MapDefaultEndpoints();
        _app.MapGet("/inner", () => "inner");
        _app.MapGet("/work", async (IConnectionMultiplexer redis, IHttpClientFactory http, HttpContext context) =>
        {
            await redis.GetDatabase().StringSetAsync("work", "done");
            using var client = http.CreateClient();
            return await client.GetStringAsync(new Uri(BaseAddress(context.RequestServices), "/inner"));
        });
        await _app.StartAsync(Ct);
        _client = new HttpClient { BaseAddress = BaseAddress(_app.Services) };
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _app.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private static Uri BaseAddress(IServiceProvider services) =>
        new(services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    private Activity[] Spans()
    {
        lock (_spans)
        {
            return [.. _spans];
        }
    }

    private static bool IsRedis(Activity span) =>
        span.GetTagItem("db.system") as string == "redis" || span.GetTagItem("db.system.name") as string == "redis";

    private static bool IsServer(Activity span, string path) =>
        span.Kind == ActivityKind.Server && span.GetTagItem("url.path") as string == path;

    [Fact]
    public async Task Background_redis_commands_start_no_trace_but_a_request_s_commands_are_in_its_trace()
    {
        var redis = _app.Services.GetRequiredService<IConnectionMultiplexer>();
        for (var i = 0; i < 5; i++)
        {
            // What a stream poll or a timer tick does: commands with no request around them.
            await redis.GetDatabase().PingAsync();
            await redis.GetDatabase().SortedSetRangeByScoreAsync("wakeups", 0, 1);
        }

        Assert.Equal("inner", await _client.GetStringAsync("/work", Ct));

        await Eventually.TrueAsync(() => Task.FromResult(Spans().Any(s => IsServer(s, "/work"))), TimeSpan.FromSeconds(10), "the request is exported");
        var work = Spans().Single(s => IsServer(s, "/work"));
        // The Redis instrumentation turns commands into spans when it drains its profiling sessions
        // (every few seconds), the background ones issued before the request's in the same or an earlier drain.
        await Eventually.TrueAsync(() => Task.FromResult(Spans().Any(s => IsRedis(s) && s.TraceId == work.TraceId)), TimeSpan.FromSeconds(30), "the request's Redis command is in its trace");
        var spans = Spans();
        Assert.Contains(spans, s => IsServer(s, "/inner") && s.TraceId == work.TraceId);
        Assert.DoesNotContain(spans, s => IsRedis(s) && s.ParentSpanId == default);
    }

    [Fact]
    public async Task A_background_http_call_starts_no_trace_on_either_side_and_a_request_still_does()
    {
        using (BackgroundWork.Begin())
        {
            // What a hosted agent's heartbeat does: a call to another service on a timer.
            Assert.Equal("inner", await _client.GetStringAsync("/inner", Ct));
        }

        Assert.Equal("inner", await _client.GetStringAsync("/work", Ct));

        await Eventually.TrueAsync(() => Task.FromResult(Spans().Any(s => IsServer(s, "/work"))), TimeSpan.FromSeconds(10), "the request is exported");
        var work = Spans().Single(s => IsServer(s, "/work"));
        // The only /inner request traced is the one the /work request made.
        Assert.Equal([work.TraceId], Spans().Where(s => IsServer(s, "/inner")).Select(s => s.TraceId));
    }

    [Theory]
    [InlineData(ActivityKind.Server)]
    [InlineData(ActivityKind.Consumer)]
    [InlineData(ActivityKind.Producer)]
    [InlineData(ActivityKind.Internal)]
    public void Requests_bus_hops_and_work_of_our_own_start_traces_even_in_background_work(ActivityKind kind)
    {
        using var scope = BackgroundWork.Begin();

        var decision = new BackgroundWorkSampler().ShouldSample(new(default, ActivityTraceId.CreateRandom(), "work", kind));

        Assert.Equal(SamplingDecision.RecordAndSample, decision.Decision);
    }

    [Fact]
    public void A_client_call_with_a_sampled_parent_is_recorded_even_in_background_work()
    {
        using var scope = BackgroundWork.Begin();
        var parent = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded);

        var decision = new BackgroundWorkSampler().ShouldSample(new(parent, parent.TraceId, "XREADGROUP", ActivityKind.Client, [new("db.system", "redis")]));

        Assert.Equal(SamplingDecision.RecordAndSample, decision.Decision);
    }

    [Fact]
    public void A_client_call_with_no_parent_outside_background_work_is_recorded()
    {
        // A front end's call made from a UI event: the first hop of a user's trace.
        var decision = new BackgroundWorkSampler().ShouldSample(new(default, ActivityTraceId.CreateRandom(), "GET", ActivityKind.Client));

        Assert.Equal(SamplingDecision.RecordAndSample, decision.Decision);
    }
}
