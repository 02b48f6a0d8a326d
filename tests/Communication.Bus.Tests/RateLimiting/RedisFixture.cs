using System.Diagnostics.Metrics;
using Communication.Bus.RateLimiting;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using TestSupport;

namespace Communication.Bus.Tests.RateLimiting;

/// <summary>One real redis-server and connection shared by the rate-limiting tests (run one class at a time).</summary>
public sealed class RedisFixture : IAsyncLifetime
{
    public ITestRedis Server { get; private set; } = null!;

    public ConnectionMultiplexer Redis { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Server = await TestRedis.StartAsync();
        Redis = await ConnectionMultiplexer.ConnectAsync(Server.ConnectionString);
    }

    public async ValueTask DisposeAsync()
    {
        await Redis.DisposeAsync();
        await Server.DisposeAsync();
    }

    /// <summary>A new connection, as another replica would have.</summary>
    public Task<ConnectionMultiplexer> ConnectAsync() => ConnectionMultiplexer.ConnectAsync(Server.ConnectionString);

    public DistributedTokenBucket CreateBucket(
        Action<TokenBucketOptions>? configure = null, TimeProvider? time = null, IMeterFactory? meters = null, IConnectionMultiplexer? redis = null)
    {
        var options = new TokenBucketOptions();
        configure?.Invoke(options);
        return new DistributedTokenBucket(redis ?? Redis, options, time, meters);
    }

    public static string NewBucket() => "test-" + Guid.NewGuid().ToString("N");

    /// <summary>A fake clock for client-time mode, at a fixed and known instant.</summary>
    public static FakeTimeProvider FakeClock(DateTimeOffset? start = null) =>
        new(start ?? new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero));
}

[CollectionDefinition(Name)]
public sealed class RedisCollection : ICollectionFixture<RedisFixture>
{
    public const string Name = "rate-limiting redis";
}

/// <summary>An <see cref="IMeterFactory"/> whose meters are its own, so a listener sees one test's measurements only.</summary>
public sealed class TestMeterFactory : IMeterFactory
{
    private readonly List<Meter> _meters = [];

    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(options.Name, options.Version, options.Tags, scope: this);
        lock (_meters)
        {
            _meters.Add(meter);
        }

        return meter;
    }

    public void Dispose()
    {
        lock (_meters)
        {
            _meters.ForEach(m => m.Dispose());
        }
    }
}

/// <summary>Sums the long counters of one <see cref="TestMeterFactory"/>'s meters.</summary>
public sealed class CounterRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly List<(string Instrument, long Value, Dictionary<string, object?> Tags)> _measurements = [];

    public CounterRecorder(TestMeterFactory factory)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, factory) && instrument.Meter.Name == RateLimitingTelemetry.MeterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var tagMap = new Dictionary<string, object?>();
            foreach (var tag in tags)
            {
                tagMap[tag.Key] = tag.Value;
            }

            lock (_measurements)
            {
                _measurements.Add((instrument.Name, value, tagMap));
            }
        });
        _listener.Start();
    }

    public long Sum(string instrument, string? tag = null, string? tagValue = null)
    {
        lock (_measurements)
        {
            return _measurements
                .Where(m => m.Instrument == instrument && (tag is null || (m.Tags.TryGetValue(tag, out var v) && Equals(v, tagValue))))
                .Sum(m => m.Value);
        }
    }

    public void Dispose() => _listener.Dispose();
}
