using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Communication.Bus;
using StackExchange.Redis;
using TestSupport;

namespace Orchestration.Api.Tests.Functional;

/// <summary>
/// The dead-letter routes against real dead letters: a consumer of the test's own (a bus with the service's signing
/// key on a topic of its own) dead-letters a failing message and an invalid entry; the service lists and replays them.
/// </summary>
public sealed class DeadLettersApiTests(RedisFixture redis) : IAsyncLifetime
{
    private readonly string _topic = $"dlq-test.{Guid.NewGuid():N}"[..21];
    private OrchestrationApiFactory _factory = null!;
    private HttpClient _api = null!;
    private ConnectionMultiplexer _redis = null!;
    private RedisMessageBus _bus = null!;
    private IBusSubscription _subscription = null!;
    private volatile bool _broken = true;
    private int _handled;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _factory = new OrchestrationApiFactory(redis);
        _api = _factory.CreateAuthorizedClient();
        _redis = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var settings = new CommunicationBusSettings { ServiceName = "dlq-test", ConsumerName = "dlq-test-1" };
        settings.Signing.Keys.Add(new SigningKeySettings { Id = TestSecrets.SigningKeyId, Secret = TestSecrets.SigningSecret });
        _bus = new RedisMessageBus(_redis, settings);
        _subscription = await _bus.SubscribeAsync(_topic, (_, _) =>
        {
            if (_broken)
            {
                throw new InvalidOperationException("the handler has a bug");
            }

            Interlocked.Increment(ref _handled);
            return Task.CompletedTask;
        }, new SubscriptionOptions { Group = "dlq-test", Consumer = "dlq-test-1", MaxDeliveries = 1 }, Ct);
    }

    public async ValueTask DisposeAsync()
    {
        await _subscription.DisposeAsync();
        await _bus.DisposeAsync();
        await _redis.DisposeAsync();
        _api.Dispose();
        await _factory.DisposeAsync();
    }

    [Fact]
    public async Task A_failed_message_is_listed_under_its_topic_and_replays_to_its_fixed_consumer()
    {
        var receipt = await _bus.PublishAsync(OutgoingMessage.Create(MessageType.Task, _topic, new { work = "w" }), Ct);
        await Eventually.TrueAsync(async () => await _bus.DeadLetters.CountAsync(_topic, Ct) == 1, because: "the failing handler dead-letters the message");

        var topics = await _api.GetFromJsonAsync<JsonElement>("/api/dead-letters", Ct);
        Assert.Contains(topics.GetProperty("topics").EnumerateArray(), t => t.GetProperty("topic").GetString() == _topic && t.GetProperty("count").GetInt64() == 1);

        var page = await _api.GetFromJsonAsync<JsonElement>($"/api/dead-letters/{_topic}", Ct);
        var letter = Assert.Single(page.GetProperty("items").EnumerateArray());
        Assert.Equal(RejectionReasons.MaxDeliveries, letter.GetProperty("reason").GetString());
        Assert.Equal(receipt.MessageId, letter.GetProperty("messageId").GetString());
        Assert.Equal("dlq-test", letter.GetProperty("group").GetString());
        Assert.Equal("w", letter.GetProperty("envelope").GetProperty("payload").GetProperty("work").GetString());
        Assert.Equal(JsonValueKind.Null, page.GetProperty("next").ValueKind);

        _broken = false;
        var id = letter.GetProperty("id").GetString();
        using var replay = await _api.PostAsync($"/api/dead-letters/{_topic}/{id}/replay", null, Ct);

        Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
        var replayed = await replay.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal(id, replayed.GetProperty("deadLetterId").GetString());
        await Eventually.TrueAsync(() => Volatile.Read(ref _handled) == 1, because: "the replayed copy reaches the fixed handler");
        var after = await _api.GetFromJsonAsync<JsonElement>("/api/dead-letters", Ct);
        Assert.DoesNotContain(after.GetProperty("topics").EnumerateArray(), t => t.GetProperty("topic").GetString() == _topic);
        using var again = await _api.PostAsync($"/api/dead-letters/{_topic}/{id}/replay", null, Ct);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
    }

    [Fact]
    public async Task Dead_letters_page_with_after_and_a_letter_without_a_message_id_cannot_be_replayed()
    {
        var db = _redis.GetDatabase();
        for (var i = 0; i < 3; i++)
        {
            await db.StreamAddAsync(BusProtocol.StreamKey(_topic), [new("v", "1"), new("id", $"not-a-uuid-{i}")]);
        }

        await Eventually.TrueAsync(async () => await _bus.DeadLetters.CountAsync(_topic, Ct) == 3);

        var first = await _api.GetFromJsonAsync<JsonElement>($"/api/dead-letters/{_topic}?limit=2", Ct);
        var next = first.GetProperty("next").GetString();
        var second = await _api.GetFromJsonAsync<JsonElement>($"/api/dead-letters/{_topic}?limit=2&after={next}", Ct);

        Assert.Equal(3, first.GetProperty("count").GetInt64());
        Assert.Equal(["not-a-uuid-0", "not-a-uuid-1", "not-a-uuid-2"],
            first.GetProperty("items").EnumerateArray().Concat(second.GetProperty("items").EnumerateArray()).Select(l => l.GetProperty("messageId").GetString()));
        Assert.Equal(JsonValueKind.Null, second.GetProperty("next").ValueKind);

        var id = first.GetProperty("items")[0].GetProperty("id").GetString();
        using var replay = await _api.PostAsync($"/api/dead-letters/{_topic}/{id}/replay", null, Ct);
        Assert.Equal(HttpStatusCode.Conflict, replay.StatusCode);
        Assert.Equal(3, await _bus.DeadLetters.CountAsync(_topic, Ct));
    }

    [Theory]
    [InlineData("/api/dead-letters/bad%20topic", "topic")]
    [InlineData("/api/dead-letters/ok.topic?limit=0", "limit")]
    [InlineData("/api/dead-letters/ok.topic?after=abc", "after")]
    public async Task Bad_listing_parameters_are_400_naming_the_field(string path, string field)
    {
        using var response = await _api.GetAsync(path, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _));
    }

    [Fact]
    public async Task Replaying_a_malformed_or_unknown_id_is_400_or_404_and_changes_nothing()
    {
        using var malformed = await _api.PostAsync($"/api/dead-letters/{_topic}/not-an-id/replay", null, Ct);
        using var unknown = await _api.PostAsync($"/api/dead-letters/{_topic}/1-1/replay", null, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.False(await _redis.GetDatabase().KeyExistsAsync(BusProtocol.DeadLetterStreamKey(_topic)));
    }

    [Fact]
    public async Task Dead_letters_need_an_api_key()
    {
        using var anonymous = _factory.CreateClient();

        using var response = await anonymous.GetAsync("/api/dead-letters", Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
