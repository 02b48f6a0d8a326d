using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Ai.Gateway.Tests.Fakes;
using Ai.Gateway.Tests.OpenAICompat;
using Ai.Gateway.Tests.Policy;

namespace Ai.Gateway.Tests.Generation;

/// <summary>
/// Schemas the gateway cannot use (no finite instance can match them, or they point at something it will not
/// fetch) are the caller's mistake: 400 naming the reason, on every route and per batch item, never a 500.
/// </summary>
public sealed class UnusableSchemaTests(RedisFixture redis) : IAsyncLifetime
{
    public static TheoryData<string, string> Unusable => new()
    {
        { "false", "accepts no value" },
        { """{"type":"object","properties":{"name":false},"required":["name"]}""", "accepts no value" },
        { """{"properties":{"name":false}}""", "accepts no value" },
        { """{"type":"object","properties":{"a":{"$ref":"#/$defs/missing"}},"required":["a"]}""", "#/$defs/missing" },
        { """{"type":"object","properties":{"a":{"$ref":"https://example.com/schema.json"}},"required":["a"]}""", "https://example.com/schema.json" },
        { """{"type":"object","properties":{"self":{"$ref":"#"}},"required":["self"]}""", "refers back" },
    };

    private FakeGeminiServer _gemini = null!;
    private PolicyGateway _live = null!;
    private PolicyGateway _offline = null!;

    public async ValueTask InitializeAsync()
    {
        _gemini = await FakeGeminiServer.StartNewAsync();
        _live = await PolicyGateway.StartAsync(redis, _gemini, [new TestModel("main")]);
        _offline = await PolicyGateway.StartAsync(redis, gemini: null, [new TestModel("main")]);
    }

    public async ValueTask DisposeAsync()
    {
        await _live.DisposeAsync();
        await _offline.DisposeAsync();
        await _gemini.DisposeAsync();
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(Unusable))]
    public async Task Generate_answers_400_naming_the_reason(string schema, string reason)
    {
        foreach (var gateway in new[] { _offline, _live })
        {
            var (response, body) = await gateway.GenerateAsync(new { input = "Who?", schema = JsonDocument.Parse(schema).RootElement });

            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains(reason, body.GetProperty("errors").GetProperty("schema")[0].GetString(), StringComparison.Ordinal);
        }

        Assert.Empty(_gemini.Requests);
    }

    [Theory]
    [MemberData(nameof(Unusable))]
    public async Task Chat_completions_answer_400_with_the_openai_error_naming_the_schema(string schema, string reason)
    {
        foreach (var gateway in new[] { _offline, _live })
        {
            var json = "{\"model\":\"" + gateway.Id("main") + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Who?\"}],"
                + "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"schema\":" + schema + "}}}";
            var (response, body) = await OpenAISdk.PostAsync(gateway, json);

            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
            Assert.Equal("response_format.json_schema.schema", error.GetProperty("param").GetString());
            Assert.Contains(reason, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        Assert.Empty(_gemini.Requests);
    }

    [Fact]
    public async Task A_batch_item_with_an_unusable_schema_carries_400_and_the_reason()
    {
        var response = await _offline.Client.PostAsJsonAsync("/v1/generate/batch", new
        {
            requests = new object[]
            {
                new { input = "first" },
                new { input = "second", schema = JsonDocument.Parse("""{"properties":{"name":false},"required":["name"]}""").RootElement },
            },
        }, Ct);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var item = body.GetProperty("results")[1];
        Assert.False(item.GetProperty("ok").GetBoolean());
        var error = item.GetProperty("error");
        Assert.Equal(400, error.GetProperty("status").GetInt32());
        Assert.Contains("accepts no value", error.GetProperty("errors").GetProperty("schema")[0].GetString(), StringComparison.Ordinal);
    }
}
