using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// What every service of the app shares: OpenTelemetry, health checks, service discovery and
/// the standard HTTP resilience handler (the Aspire template's ServiceDefaults), plus health
/// endpoints that are safe to expose in every environment.
/// </summary>
public static class Extensions
{
    public const string AlivePath = "/alive";
    public const string HealthPath = "/health";
    public const string ReadyPath = "/health/ready";
    private const string LiveTag = "live";

    /// <summary>How long one health check may take before it counts as failed (readiness answers 503 within 2 s).</summary>
    public static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(1.5);
    private const string HealthPolicy = "HealthChecks";

    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry();
        builder.AddDefaultHealthChecks();

        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            http.AddStandardResilienceHandler();
            http.AddServiceDiscovery();
        });

        return builder;
    }

    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter(builder.Environment.ApplicationName))
            .WithTracing(tracing => tracing
                // Background work (stream reads, timer polls, heartbeats) starts no trace of its own.
                .SetSampler(new BackgroundWorkSampler())
                .AddSource(builder.Environment.ApplicationName)
                .AddAspNetCoreInstrumentation(o => o.Filter = context => !IsHealthRequest(context.Request.Path))
                .AddHttpClientInstrumentation(o => o.FilterHttpRequestMessage = request =>
                    request.RequestUri is null || !IsHealthRequest(request.RequestUri.AbsolutePath)));

        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            builder.Services.AddOpenTelemetry().UseOtlpExporter();
        }

        return builder;
    }

    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag]);

        // A dependency that hangs or is down must make readiness 503 within 2 s, not time the probe out: every
        // check is bounded on the app's TimeProvider (a registration's own Timeout, if set, is used as its limit).
        builder.Services.PostConfigure<HealthCheckServiceOptions>(o =>
        {
            foreach (var registration in o.Registrations)
            {
                var limit = registration.Timeout > TimeSpan.Zero ? registration.Timeout : CheckTimeout;
                var factory = registration.Factory;
                registration.Factory = sp => new BoundedHealthCheck(factory(sp), sp.GetService<TimeProvider>() ?? TimeProvider.System, limit);
                registration.Timeout = Timeout.InfiniteTimeSpan;
            }
        });

        builder.Services.AddRequestTimeouts(o =>
            o.AddPolicy(HealthPolicy, TimeSpan.FromSeconds(5)));

        // A short cache keeps a burst of probes from hammering Redis; short enough that a
        // recovering dependency shows up within two seconds.
        builder.Services.AddOutputCache(o =>
            o.AddPolicy(HealthPolicy, b => b.Expire(TimeSpan.FromSeconds(2))));

        return builder;
    }

    /// <summary>
    /// Maps <c>/alive</c> (liveness: the process answers; only checks tagged <c>live</c>, never Redis) and
    /// <c>/health/ready</c> (readiness: every registered check, Redis and bus consumers included). <c>/health</c> is
    /// the same readiness answer under the name Aspire's templates and tools probe; it is not a liveness probe.
    /// They are anonymous, time-limited, cached for two seconds, excluded from traces, and print only the overall status.
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.UseRequestTimeouts();
        app.UseOutputCache();

        var health = app.MapGroup("");
        health.AllowAnonymous()
            .CacheOutput(HealthPolicy)
            .WithRequestTimeout(HealthPolicy)
            .ExcludeFromDescription();

        var readiness = new HealthCheckOptions { Predicate = _ => true };
        health.MapHealthChecks(HealthPath, readiness);
        health.MapHealthChecks(ReadyPath, readiness);
        health.MapHealthChecks(AlivePath, new HealthCheckOptions { Predicate = r => r.Tags.Contains(LiveTag) });

        return app;
    }

    private static bool IsHealthRequest(PathString path) =>
        path.StartsWithSegments(HealthPath, StringComparison.OrdinalIgnoreCase) || path.StartsWithSegments(AlivePath, StringComparison.OrdinalIgnoreCase);

    private static bool IsHealthRequest(string path) => IsHealthRequest(new PathString(path));
}
