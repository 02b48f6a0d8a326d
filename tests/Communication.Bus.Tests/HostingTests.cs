using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OpenTelemetry.Trace;
using StackExchange.Redis;
using TestSupport;

namespace Communication.Bus.Tests;

public class HostingTests(RedisFixture redis)
{
    private static HostApplicationBuilder Builder(string connectionString, Dictionary<string, string?>? extra = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ApplicationName = "Test.Service", EnvironmentName = "Testing" });
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:redis"] = connectionString,
            ["Bus:Signing:Keys:0:Id"] = "test",
            ["Bus:Signing:Keys:0:Secret"] = "test-signing-secret-0123456789abcdefghijklmnop",
            ["Bus:Subscription:PollInterval"] = "00:00:00.100",
        };
        foreach (var (k, v) in extra ?? [])
        {
            settings[k] = v;
        }

        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddCommunicationBus("redis");
        return builder;
    }

    [Fact]
    public async Task AddCommunicationBus_registers_the_bus_dead_letters_key_ring_health_check_and_telemetry()
    {
        using var host = Builder(redis.Server.ConnectionString, new() { ["Bus:Signing:Keys:1:Id"] = "next", ["Bus:Signing:Keys:1:Secret"] = TestBus.Secret2, ["Bus:Signing:Keys:1:State"] = "verify-only" }).Build();
        await host.StartAsync();

        var bus = host.Services.GetRequiredService<IMessageBus>();
        Assert.Same(host.Services.GetRequiredService<RedisMessageBus>(), bus);
        Assert.NotNull(host.Services.GetRequiredService<IDeadLetterQueue>());
        var ring = host.Services.GetRequiredService<SigningKeyRing>();
        Assert.Equal([("test", SigningKeyState.Active), ("next", SigningKeyState.VerifyOnly)], ring.Keys.Select(k => (k.Id, k.State)));
        Assert.Equal("Test.Service", host.Services.GetRequiredService<IOptions<CommunicationBusSettings>>().Value.ServiceName);
        Assert.NotNull(host.Services.GetService<TracerProvider>());

        var topic = TestTopics.New();
        var recorder = new Recorder();
        await using (await bus.SubscribeAsync(topic, recorder.Handle))
        {
            await bus.PublishAsync(OutgoingMessage.Create(MessageType.Event, topic, 1));
            await Eventually.TrueAsync(() => recorder.Count == 1);
            Assert.Equal("Test.Service", recorder.Messages[0].From);

            var health = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Name == CommunicationBusExtensions.HealthCheckName);
            Assert.Equal(HealthStatus.Healthy, health.Status);
            Assert.Equal(1, health.Entries[CommunicationBusExtensions.HealthCheckName].Data["subscriptions"]);
        }

        await host.StopAsync();
    }

    [Fact]
    public async Task The_health_check_reports_unhealthy_when_redis_goes_away()
    {
        var server = await RedisServer.StartAsync();
        using var host = Builder(server.ConnectionString + ",connectTimeout=1000,syncTimeout=1000,asyncTimeout=1000").Build();
        await host.StartAsync();
        var checks = host.Services.GetRequiredService<HealthCheckService>();
        await using (await host.Services.GetRequiredService<IMessageBus>().SubscribeAsync(TestTopics.New(), (_, _) => Task.CompletedTask))
        {
            Assert.Equal(HealthStatus.Healthy, (await checks.CheckHealthAsync(r => r.Name == CommunicationBusExtensions.HealthCheckName)).Status);

            await server.DisposeAsync();

            await Eventually.TrueAsync(async () => (await checks.CheckHealthAsync(r => r.Name == CommunicationBusExtensions.HealthCheckName)).Status == HealthStatus.Unhealthy,
                TimeSpan.FromSeconds(30));
        }

        await host.StopAsync();
    }

    [Theory]
    [InlineData("Bus:Signing:Keys:0:Secret", "too-short", "Bus:Signing:Keys:0:Secret (key 'test') is 9 bytes; at least 32 bytes are required.")]
    [InlineData("Bus:Signing:Keys:0:State", "verify-only", "has no active key")]
    [InlineData("Bus:Signing:Keys:0:State", "retired", "is 'retired'; use 'active' or 'verify-only'")]
    [InlineData("Bus:Signing:Keys:0:Id", "bad id", "must match ^[A-Za-z0-9._-]{1,64}$")]
    [InlineData("Bus:Signing:TimestampTolerance", "00:10:00", "must be at least twice Bus:Signing:TimestampTolerance")]
    [InlineData("Bus:Signing:MaxBacklogAge", "00:01:00", "Bus:Signing:MaxBacklogAge (00:01:00) must be at least Bus:Signing:TimestampTolerance (00:05:00)")]
    [InlineData("Bus:Subscription:Concurrency", "0", "Bus:Subscription:Concurrency must be between 1 and 1024")]
    [InlineData("Bus:ServiceName", "has space", "Bus:ServiceName 'has space' must match")]
    public async Task Invalid_settings_fail_at_start_up_with_a_clear_message(string key, string value, string message)
    {
        using var host = Builder(redis.Server.ConnectionString, new() { [key] = value }).Build();

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains(ex.Failures, f => f.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Missing_signing_keys_fail_at_start_up()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:redis"] = redis.Server.ConnectionString });
        builder.AddCommunicationBus("redis");
        using var host = builder.Build();

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains(ex.Failures, f => f.Contains("Bus:Signing:Keys is empty", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Duplicate_key_ids_fail_and_the_constructor_validates_too()
    {
        var settings = TestBus.Settings("svc", TestBus.Key("a", TestBus.Secret1), TestBus.Key("a", TestBus.Secret2));

        var ex = Assert.Throws<OptionsValidationException>(() => new RedisMessageBus(redis.Connection, settings));

        Assert.Contains(ex.Failures, f => f.Contains("'a' appears more than once", StringComparison.Ordinal));
        await Task.CompletedTask;
    }

    [Fact]
    public async Task Subscribe_rejects_invalid_topics_and_options()
    {
        await using var bus = await TestBus.CreateAsync(redis);

        await Assert.ThrowsAsync<ArgumentException>(() => bus.Bus.SubscribeAsync("bad topic", (_, _) => Task.CompletedTask));
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => bus.Bus.SubscribeAsync("ok", (_, _) => Task.CompletedTask, new SubscriptionOptions { MaxDeliveries = 0 }));
        Assert.Contains("MaxDeliveries", ex.Message, StringComparison.Ordinal);
    }
}
