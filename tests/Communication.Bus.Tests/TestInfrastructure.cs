using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using StackExchange.Redis;
using TestSupport;

[assembly: AssemblyFixture(typeof(Communication.Bus.Tests.RedisFixture))]


namespace Communication.Bus.Tests;

/// <summary>One real redis-server for the whole assembly; tests isolate themselves with unique topics.</summary>
public sealed class RedisFixture : IAsyncLifetime
{
    public ITestRedis Server { get; private set; } = null!;

    public ConnectionMultiplexer Connection { get; private set; } = null!;

    public IDatabase Db => Connection.GetDatabase();

    public async ValueTask InitializeAsync()
    {
        Server = await TestRedis.StartAsync();
        Connection = await ConnectionMultiplexer.ConnectAsync(Server.ConnectionString);
    }

    public async ValueTask DisposeAsync()
    {
        await Connection.DisposeAsync();
        await Server.DisposeAsync();
    }
}

/// <summary>A bus with its own Redis connection (so a test can "kill" it) and its own meter factory.</summary>
public sealed class TestBus : IAsyncDisposable
{
    public const string Secret1 = "test-secret-one-0123456789abcdefghijklmnop";
    public const string Secret2 = "test-secret-two-0123456789abcdefghijklmnop";

    private readonly ServiceProvider _metrics;

    private TestBus(RedisMessageBus bus, ConnectionMultiplexer connection, ServiceProvider metrics)
    {
        Bus = bus;
        Connection = connection;
        _metrics = metrics;
        MeterFactory = metrics.GetRequiredService<IMeterFactory>();
    }

    public RedisMessageBus Bus { get; }

    public ConnectionMultiplexer Connection { get; }

    public IMeterFactory MeterFactory { get; }

    public static CommunicationBusSettings Settings(string service = "svc", params SigningKeySettings[] keys)
    {
        var settings = new CommunicationBusSettings
        {
            ServiceName = service,
            Subscription = new SubscriptionOptions
            {
                ClaimIdleTime = TimeSpan.FromMilliseconds(400),
                PollInterval = TimeSpan.FromMilliseconds(100),
                HandlerRetries = 0,
                RetryBaseDelay = TimeSpan.FromMilliseconds(10),
                RetryMaxDelay = TimeSpan.FromMilliseconds(50),
                MaxDeliveries = 3,
                ShutdownTimeout = TimeSpan.FromSeconds(20),
            },
        };
        foreach (var key in keys.Length == 0 ? [Key("k1", Secret1)] : keys)
        {
            settings.Signing.Keys.Add(key);
        }

        return settings;
    }

    public static SigningKeySettings Key(string id, string secret, string state = "active", DateTimeOffset? expiresAt = null) =>
        new() { Id = id, Secret = secret, State = state, ExpiresAt = expiresAt };

    public static async Task<TestBus> CreateAsync(RedisFixture redis, CommunicationBusSettings? settings = null, TimeProvider? clock = null)
    {
        var connection = await ConnectionMultiplexer.ConnectAsync(redis.Server.ConnectionString);
        var metrics = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var bus = new RedisMessageBus(connection, settings ?? Settings(), clock, meterFactory: metrics.GetRequiredService<IMeterFactory>());
        return new TestBus(bus, connection, metrics);
    }

    public MetricCollector<long> Counter(string name) => new(MeterFactory, CommunicationBusTelemetry.MeterName, name);

    /// <summary>Simulates a crash: the connection drops without any graceful stop (no ack, no heartbeat).</summary>
    public void Kill() => Connection.Close(allowCommandsToComplete: false);

    public async ValueTask DisposeAsync()
    {
        try
        {
            // A killed bus cannot finish its in-flight handlers: do not wait for them.
            await Bus.DisposeAsync().AsTask().WaitAsync(Connection.IsConnected ? TimeSpan.FromSeconds(60) : TimeSpan.FromSeconds(1));
        }
        catch (TimeoutException) when (!Connection.IsConnected)
        {
        }

        await Connection.DisposeAsync();
        await _metrics.DisposeAsync();
    }
}

public static class TestTopics
{
    public static string New(string prefix = "t") => $"{prefix}.{Guid.NewGuid():N}"[..(prefix.Length + 13)];
}

public static class Repo
{
    /// <summary>The repository root (the folder holding Aspire.sln).</summary>
    public static string Root
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Aspire.sln")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? throw new InvalidOperationException("Aspire.sln not found above " + AppContext.BaseDirectory);
        }
    }
}

/// <summary>Records handled messages.</summary>
public sealed class Recorder
{
    private readonly List<BusMessage> _messages = [];

    public IReadOnlyList<BusMessage> Messages
    {
        get
        {
            lock (_messages)
            {
                return [.. _messages];
            }
        }
    }

    public int Count
    {
        get
        {
            lock (_messages)
            {
                return _messages.Count;
            }
        }
    }

    public Task Handle(BusMessage message, CancellationToken cancellationToken)
    {
        lock (_messages)
        {
            _messages.Add(message);
        }

        return Task.CompletedTask;
    }
}

public sealed record Work(string Name, int N);
