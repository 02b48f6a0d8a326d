using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using TestSupport;

namespace Ai.Gateway.Tests.Hostile;

public sealed class HostileBodyFixture(RedisFixture redis) : IAsyncLifetime
{
    public ServiceFactory<Program> Factory { get; private set; } = null!;

    public ValueTask InitializeAsync()
    {
        Factory = new ServiceFactory<Program>(redis.ConnectionString, new Dictionary<string, string?> { ["HostedAgents:Enabled"] = "false" });
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => Factory.DisposeAsync();
}

/// <summary>
/// Bodies a client gets wrong on purpose or by accident (issue 9): an unknown charset, invalid UTF-8, lone
/// surrogate escapes and duplicate keys anywhere in a body are 4xx problem details naming the field — never a 500.
/// </summary>
public sealed class HostileBodyTests(HostileBodyFixture fixture) : IClassFixture<HostileBodyFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Task<HttpResponseMessage> PostAsync(string path, string body, string contentType = "application/json") =>
        PostAsync(path, Encoding.UTF8.GetBytes(body), contentType);

    private async Task<HttpResponseMessage> PostAsync(string path, byte[] body, string contentType = "application/json")
    {
        using var client = fixture.Factory.CreateAuthorizedClient();
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return await client.PostAsync(path, content, Ct);
    }

    private static async Task AssertBadRequestNamingAsync(HttpResponseMessage response, string field)
    {
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var errors = JsonDocument.Parse(text).RootElement.GetProperty("errors");
        Assert.True(errors.TryGetProperty(field, out _), $"no error for '{field}' in {errors}");
    }

    [Theory]
    [InlineData("/v1/generate", """{"input":"hi"}""")]
    [InlineData("/v1/generate/batch", """{"requests":[{"input":"hi"}]}""")]
    [InlineData("/v1/chat/completions", """{"model":"gemini-3.5-flash","messages":[{"role":"user","content":"hi"}]}""")]
    [InlineData("/v1/tools/echo/invoke", """{"arguments":{"message":"hi"}}""")]
    [InlineData("/v1/prompts/json/render", """{"task":"hi"}""")]
    public async Task An_unknown_charset_is_415_problem_details(string path, string body)
    {
        using var response = await PostAsync(path, body, "application/json; charset=klingon");

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("/v1/generate", """{"input":"\ud800"}""", "input")]
    [InlineData("/v1/generate", """{"messages":[{"role":"user","content":"\udc00"}]}""", "messages[0].content")]
    [InlineData("/v1/generate/batch", """{"requests":[{"input":"ok"},{"input":"\ud800"}]}""", "requests[1].input")]
    [InlineData("/v1/chat/completions", """{"model":"gemini-3.5-flash","messages":[{"role":"user","content":"\ud800"}]}""", "messages[0].content")]
    [InlineData("/v1/chat/completions", """{"model":"gemini-3.5-flash","messages":[{"role":"user","content":"hi"}],"stop":"\ud800"}""", "stop")]
    [InlineData("/v1/chat/completions", """{"model":"gemini-3.5-flash","messages":[{"role":"user","content":"hi"}],"stop":["a","\ud800"]}""", "stop[1]")]
    [InlineData("/v1/chat/completions", """{"model":"gemini-3.5-flash","messages":[{"role":"user","content":"hi"}],"tool_choice":"\ud800"}""", "tool_choice")]
    [InlineData("/v1/chat/completions", """{"model":"gemini-3.5-flash","messages":[{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"echo","arguments":"{\"m\":\"\ud800\"}"}}]}]}""", "messages[0].tool_calls[0].function.arguments")]
    [InlineData("/v1/tools/echo/invoke", """{"arguments":{"message":"\ud800"}}""", "arguments.message")]
    [InlineData("/v1/prompts/json/render", """{"task":"\ud800"}""", "task")]
    [InlineData("/v1/prompts/context/render", """{"question":"q","documents":[{"title":"t","content":"\udfff"}]}""", "documents[0].content")]
    public async Task A_lone_surrogate_anywhere_is_400_naming_the_field(string path, string body, string field)
    {
        using var response = await PostAsync(path, body);

        await AssertBadRequestNamingAsync(response, field);
    }

    [Theory]
    [InlineData("/v1/generate", """{"input":"~"}""", "input")]
    [InlineData("/v1/chat/completions", """{"model":"gemini-3.5-flash","messages":[{"role":"user","content":"~"}]}""", "messages[0].content")]
    [InlineData("/v1/tools/echo/invoke", """{"arguments":{"message":"~"}}""", "arguments.message")]
    [InlineData("/v1/prompts/json/render", """{"task":"~"}""", "task")]
    public async Task Invalid_utf8_anywhere_is_400_naming_the_field(string path, string body, string field)
    {
        using var response = await PostAsync(path, [.. Encoding.UTF8.GetBytes(body).Select(b => b == (byte)'~' ? (byte)0xC3 : b)]);

        await AssertBadRequestNamingAsync(response, field);
    }

    [Fact]
    public async Task A_duplicate_key_cannot_slip_a_long_task_past_the_prompt_schema()
    {
        var body = $$"""{"task":"short","task":"{{new string('x', 150_000)}}"}""";

        using var response = await PostAsync("/v1/prompts/json/render", body);

        await AssertBadRequestNamingAsync(response, "task");
    }

    [Fact]
    public async Task A_duplicate_key_cannot_slip_a_long_message_past_the_echo_schema()
    {
        var body = $$$"""{"arguments":{"message":"short","message":"{{{new string('x', 20_000)}}}"}}""";

        using var response = await PostAsync("/v1/tools/echo/invoke", body);

        await AssertBadRequestNamingAsync(response, "arguments.message");
    }

    [Theory]
    [InlineData("/v1/generate", """{"input":"a","input":"b"}""", "input")]
    [InlineData("/v1/chat/completions", """{"model":"gemini-3.5-flash","model":"x","messages":[{"role":"user","content":"hi"}]}""", "model")]
    [InlineData("/v1/generate", """{"input":"a","Input":"b"}""", "Input")]
    [InlineData("/v1/generate", """{"input":"a","tools":[null]}""", "tools[0]")]
    [InlineData("/v1/generate/batch", """{"requests":[null]}""", "requests[0]")]
    [InlineData("/v1/generate/batch", """{"requests":[{"input":"a","schema":{"type":"object","type":"string"}}]}""", "requests[0].schema.type")]
    public async Task Duplicate_keys_and_null_items_at_any_depth_are_400_naming_the_path(string path, string body, string field)
    {
        using var response = await PostAsync(path, body);

        await AssertBadRequestNamingAsync(response, field);
    }
}
