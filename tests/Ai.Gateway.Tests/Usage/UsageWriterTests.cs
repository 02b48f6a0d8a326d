using Ai.Gateway.Usage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using TestSupport;

namespace Ai.Gateway.Tests.Usage;

/// <summary>The background writer of usage: idempotent batches, kept counts while Redis is away, quiet logs.</summary>
public sealed class UsageWriterTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly FakeLogger<UsageWriter> _logger = new();
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private RedisServer _redis = null!;
    private ConnectionMultiplexer _connection = null!;

    public async ValueTask InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _connection = await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString + ",asyncTimeout=500,syncTimeout=500");
    }

    public async ValueTask DisposeAsync()
    {
        await _connection.DisposeAsync();
        await _redis.DisposeAsync();
        await _services.DisposeAsync();
    }

    private static DateOnly Day => new(2025, 6, 1);

    [Fact]
    public async Task Writing_the_same_batch_again_counts_it_once()
    {
        var store = new UsageStore(_connection);
        var counts = new Dictionary<UsageCounter, long> { [new(Day, "m", UsageCounter.Requests)] = 2 };

        await store.WriteAsync("batch-1", counts);
        await store.WriteAsync("batch-1", counts);
        await store.WriteAsync("batch-2", counts);

        Assert.Equal(4, Assert.Single(await store.ReadAsync(Day)).Requests);
    }

    [Fact]
    public async Task While_Redis_is_away_counts_are_kept_failures_counted_and_logged_once_per_interval()
    {
        var recorder = new UsageRecorder(_time);
        var writer = new UsageWriter(recorder, new UsageStore(_connection),
            Options.Create(new UsageOptions { FailureLogInterval = TimeSpan.FromMinutes(1) }), _time,
            _services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), _logger);
        using var failures = new MetricCollector<long>(_services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(),
            UsageWriter.MeterName, UsageWriter.WriteFailuresName);
        _redis.Stop();

        recorder.RecordAnswer("m", new TokenUsage(10, 5, 15), 0.25m);
        await writer.FlushAsync(TestContext.Current.CancellationToken);
        recorder.RecordDenial("m");
        _time.Advance(TimeSpan.FromSeconds(30));
        await writer.FlushAsync(TestContext.Current.CancellationToken);

        Assert.Equal(2, failures.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Single(Warnings());

        _time.Advance(TimeSpan.FromSeconds(31));
        await writer.FlushAsync(TestContext.Current.CancellationToken);
        Assert.Equal(2, Warnings().Count);

        await _redis.RestartAsync();
        await Eventually.TrueAsync(async () =>
        {
            await writer.FlushAsync(TestContext.Current.CancellationToken);
            return recorder.Pending == 0 && _logger.Collector.GetSnapshot().Any(r => r.Level == LogLevel.Information);
        }, because: "the kept counts are written once Redis is back");

        var usage = Assert.Single(await new UsageStore(_connection).ReadAsync(Day));
        Assert.Equal((1, 10, 5, 0.25m, 1), (usage.Requests, usage.InputTokens, usage.OutputTokens, usage.CostUsd, usage.Denials));
    }

    [Fact]
    public async Task A_write_that_fails_with_a_client_error_is_kept_and_stopping_the_host_does_not_throw()
    {
        // Seen in CI: while Redis was paused, StackExchange.Redis failed the shutdown flush with
        // InvalidOperationException ("Reading is not allowed after reader was completed"), and StopAsync threw.
        var recorder = new UsageRecorder(_time);
        var writer = new UsageWriter(recorder, new UsageStore(FailingRedis.Create(new InvalidOperationException("Reading is not allowed after reader was completed."))),
            Options.Create(new UsageOptions()), _time, _services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), _logger);
        recorder.RecordAnswer("m", new TokenUsage(10, 5, 15), 0.25m);

        await writer.FlushAsync(TestContext.Current.CancellationToken);
        await writer.StopAsync(TestContext.Current.CancellationToken);

        Assert.Contains(_logger.Collector.GetSnapshot(), r => r.Level == LogLevel.Warning && r.Message.Contains("InvalidOperationException", StringComparison.Ordinal));
        Assert.Contains(_logger.Collector.GetSnapshot(), r => r.Message.Contains("lost", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>A connection whose every database call throws the given exception.</summary>
    public class FailingRedis : System.Reflection.DispatchProxy
    {
        private Exception _error = null!;

        public static IConnectionMultiplexer Create(Exception error)
        {
            var database = Create<IDatabase, FailingRedis>();
            ((FailingRedis)(object)database)._error = error;
            var connection = Create<IConnectionMultiplexer, FailingRedis>();
            ((FailingRedis)(object)connection)._error = error;
            ((FailingRedis)(object)connection)._database = database;
            return connection;
        }

        private IDatabase? _database;

        protected override object? Invoke(System.Reflection.MethodInfo? targetMethod, object?[]? args) =>
            targetMethod?.Name == nameof(IConnectionMultiplexer.GetDatabase) && _database is not null ? _database : throw _error;
    }

    private List<FakeLogRecord> Warnings() => _logger.Collector.GetSnapshot().Where(r => r.Level == LogLevel.Warning).ToList();
}
