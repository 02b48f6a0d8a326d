using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;
using TestSupport;

namespace Communication.Bus.Tests;

public sealed class AddCommunicationBusTests
{
    [Fact]
    public async Task Registers_the_named_redis_connection_the_aspire_way()
    {
        await using var redis = await RedisServer.StartAsync();
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration["ConnectionStrings:redis"] = redis.ConnectionString;

        builder.AddCommunicationBus("redis");
        using var host = builder.Build();

        var database = host.Services.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
        await database.StringSetAsync("probe", "written");
        Assert.Equal("written", (string?)await database.StringGetAsync("probe"));
    }

    [Fact]
    public void A_connection_string_in_the_bus_settings_wins()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration["Bus:ConnectionString"] = "127.0.0.1:1,abortConnect=false";

        builder.AddCommunicationBus("redis");
        using var host = builder.Build();

        var connection = host.Services.GetRequiredService<IConnectionMultiplexer>();
        Assert.Contains("127.0.0.1:1", connection.Configuration, StringComparison.Ordinal);
    }
}
