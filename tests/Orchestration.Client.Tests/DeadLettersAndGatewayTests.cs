using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using Communication.Bus;
using StackExchange.Redis;
using TestSupport;

namespace Orchestration.Client.Tests;

public sealed class DeadLettersAndGatewayTests(ServicesFixture services)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_invalid_result_is_listed_as_a_dead_letter_and_cannot_be_replayed_without_a_message_id()
    {
        // The orchestrator consumes orchestration.results: an entry that is no envelope is dead-lettered there.
        const string topic = "orchestration.results";
        var marker = $"not-a-uuid-{Guid.NewGuid():N}";
        await using (var redis = await ConnectionMultiplexer.ConnectAsync(services.Redis.ConnectionString))
        {
            await redis.GetDatabase().StreamAddAsync(BusProtocol.StreamKey(topic), [new("v", "1"), new("id", marker)]);
        }

        var letter = await Eventually.ValueAsync(
            async () => (await services.Client.ListDeadLettersAsync(topic, 200, cancellationToken: Ct)).Items.FirstOrDefault(l => l.MessageId == marker),
            l => l is not null, because: "the orchestrator dead-letters the invalid entry");
        var topics = await services.Client.ListDeadLetterTopicsAsync(Ct);
        var error = await Assert.ThrowsAsync<ApiException>(() => services.Client.ReplayDeadLetterAsync(topic, letter!.Id, Ct));
        var unknown = await Assert.ThrowsAsync<ApiException>(() => services.Client.ReplayDeadLetterAsync(topic, "1-1", Ct));

        Assert.Equal("invalid", letter!.Reason);
        Assert.Equal("orchestration-api", letter.Group);
        Assert.Contains(topics.Topics, t => t.Topic == topic && t.Count >= 1);
        Assert.Equal(HttpStatusCode.Conflict, error.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task The_gateway_models_show_provider_circuit_and_bucket()
    {
        var catalog = await services.GatewayClient.GetModelsAsync(Ct);

        Assert.NotEmpty(catalog.Models);
        Assert.Contains(catalog.Models, m => m.Id == catalog.DefaultModel);
        Assert.All(catalog.Models, m =>
        {
            Assert.Equal("offline", m.ServedBy);
            Assert.False(string.IsNullOrEmpty(m.Circuit));
            Assert.False(string.IsNullOrEmpty(m.Tier));
            Assert.True(m.Bucket!.Capacity > 0);
        });
    }

    [Fact]
    public async Task Gateway_usage_counts_a_generation_on_its_day()
    {
        using var http = services.Gateway.CreateAuthorizedClient();
        using var generated = await http.PostAsJsonAsync("v1/generate", new { input = "Say hello" }, Ct);
        generated.EnsureSuccessStatusCode();
        var model = (await generated.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>(Ct)).GetProperty("model").GetString();

        var today = await services.GatewayClient.GetUsageAsync(cancellationToken: Ct);
        var sameDay = await services.GatewayClient.GetUsageAsync(DateOnly.ParseExact(today.Date, "yyyy-MM-dd", CultureInfo.InvariantCulture), Ct);
        var longAgo = await services.GatewayClient.GetUsageAsync(new DateOnly(2001, 1, 1), Ct);

        Assert.Contains(today.Models, m => m.Model == model && m.Requests >= 1 && m.TotalTokens > 0);
        Assert.True(today.TotalRequests >= 1);
        Assert.Equal(today.Date, sameDay.Date);
        Assert.Equal("2001-01-01", longAgo.Date);
        Assert.Empty(longAgo.Models);
    }
}
