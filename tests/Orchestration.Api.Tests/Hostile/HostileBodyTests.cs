using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Orchestration.Api.Tests.Functional;

namespace Orchestration.Api.Tests.Hostile;

/// <summary>
/// Bodies a client gets wrong on purpose or by accident (issue 9): an unknown charset, invalid UTF-8, lone
/// surrogate escapes and duplicate keys anywhere in a body are 4xx problem details naming the field — never a 500 —
/// and change nothing.
/// </summary>
public sealed class HostileBodyTests(RedisFixture redis) : IAsyncLifetime
{
    private OrchestrationApiFactory _factory = null!;
    private HttpClient _api = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _factory = new OrchestrationApiFactory(redis);
        _api = _factory.CreateAuthorizedClient();
        using var put = await SendAsync(HttpMethod.Put, "/api/workflows/hostile", """{"steps":[{"id":"s1","agent":"worker","input":{"about":"{{input.topic}}"}}]}""");
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync(Ct));
    }

    public async ValueTask DisposeAsync()
    {
        _api.Dispose();
        await _factory.DisposeAsync();
    }

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string body, string? contentType = "application/json") =>
        SendAsync(method, path, Encoding.UTF8.GetBytes(body), contentType);

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, byte[] body, string? contentType = "application/json")
    {
        using var request = new HttpRequestMessage(method, path) { Content = new ByteArrayContent(body) };
        if (contentType is not null)
        {
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        return await _api.SendAsync(request, Ct);
    }

    /// <summary>Bytes of <paramref name="json"/> with every <c>~</c> replaced by the invalid UTF-8 byte 0xFF.</summary>
    private static byte[] WithInvalidUtf8(string json) =>
        [.. Encoding.UTF8.GetBytes(json).Select(b => b == (byte)'~' ? (byte)0xFF : b)];

    private static async Task AssertBadRequestNamingAsync(HttpResponseMessage response, string field)
    {
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var errors = JsonDocument.Parse(text).RootElement.GetProperty("errors");
        Assert.True(errors.TryGetProperty(field, out _), $"no error for '{field}' in {errors}");
    }

    [Theory]
    [InlineData("POST", "/api/agents", """{"id":"a1","name":"A","capabilities":["x"]}""")]
    [InlineData("POST", "/api/agents/a1/heartbeat", """{"status":"busy"}""")]
    [InlineData("PUT", "/api/workflows/charset", """{"steps":[{"id":"s1","agent":"worker"}]}""")]
    [InlineData("POST", "/api/workflows/hostile/runs", """{"input":{"topic":"x"}}""")]
    public async Task An_unknown_charset_is_415_problem_details(string method, string path, string body)
    {
        using var response = await SendAsync(new HttpMethod(method), path, body, "application/json; charset=klingon");

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("application/json; charset=UTF-8")]
    [InlineData("application/json; charset=\"utf-8\"")]
    [InlineData("application/json")]
    public async Task Utf8_or_no_charset_is_read(string contentType)
    {
        using var response = await SendAsync(HttpMethod.Post, "/api/workflows/hostile/runs", """{"input":{"topic":"x"}}""", contentType);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    [Theory]
    [InlineData("""{"input":{"topic":"\ud800"}}""", "input.topic")]
    [InlineData("""{"input":{"topic":"ok","deep":[{"x":["\udc00"]}]}}""", "input.deep[0].x[0]")]
    [InlineData("""{"input":{"topic":"x","\ud800":1}}""", "input")]
    [InlineData("""{"input":{"topic":"a","topic":"b"}}""", "input.topic")]
    [InlineData("""{"input":{"topic":"a"},"input":{"topic":"b"}}""", "input")]
    [InlineData("""{"input":{"topic":"a"},"idempotencyKey":"k","idempotencyKey":"k2"}""", "idempotencyKey")]
    public async Task A_run_input_with_lone_surrogates_or_duplicate_keys_is_400_naming_the_field(string body, string field)
    {
        using var response = await SendAsync(HttpMethod.Post, "/api/workflows/hostile/runs", body);

        await AssertBadRequestNamingAsync(response, field);
    }

    [Theory]
    [InlineData("""{"input":{"topic":"~"}}""", "input.topic")]
    [InlineData("""{"input":{"topic":"x","~":1}}""", "input")]
    public async Task A_run_input_with_invalid_utf8_is_400_naming_the_field(string body, string field)
    {
        using var response = await SendAsync(HttpMethod.Post, "/api/workflows/hostile/runs", WithInvalidUtf8(body));

        await AssertBadRequestNamingAsync(response, field);
    }

    [Theory]
    [InlineData("""{"steps":[{"id":"s1","agent":"worker","input":{"x":"\ud800"}}]}""", "steps[0].input.x")]
    [InlineData("""{"steps":[{"id":"s1","agent":"worker","compensate":{"agent":"undo","input":"\udfff"}}]}""", "steps[0].compensate.input")]
    [InlineData("""{"steps":[{"id":"s1","agent":"worker","agent":"other"}]}""", "steps[0].agent")]
    [InlineData("""{"steps":[{"id":"s1","agent":"worker","input":{"x":1,"x":2}}]}""", "steps[0].input.x")]
    [InlineData("""{"steps":[{"id":"s1","agent":"worker"}],"steps":[]}""", "steps")]
    public async Task A_workflow_with_lone_surrogates_or_duplicate_keys_is_400_naming_the_field_and_is_not_stored(string body, string field)
    {
        using var response = await SendAsync(HttpMethod.Put, "/api/workflows/bad-body", body);

        await AssertBadRequestNamingAsync(response, field);
        using var get = await _api.GetAsync("/api/workflows/bad-body", Ct);
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    [Fact]
    public async Task A_workflow_with_invalid_utf8_in_a_step_input_is_400_naming_the_field()
    {
        using var response = await SendAsync(HttpMethod.Put, "/api/workflows/bad-bytes", WithInvalidUtf8("""{"steps":[{"id":"s1","agent":"worker","input":{"x":"~"}}]}"""));

        await AssertBadRequestNamingAsync(response, "steps[0].input.x");
    }

    [Theory]
    [InlineData("""{"id":"a2","name":"\ud800","capabilities":["x"]}""", "name")]
    [InlineData("""{"id":"a2","name":"A","capabilities":["x"],"metadata":{"k":"\ud800"}}""", "metadata.k")]
    [InlineData("""{"id":"a2","name":"A","name":"B","capabilities":["x"]}""", "name")]
    public async Task An_agent_registration_with_lone_surrogates_or_duplicate_keys_is_400_naming_the_field(string body, string field)
    {
        using var response = await SendAsync(HttpMethod.Post, "/api/agents", body);

        await AssertBadRequestNamingAsync(response, field);
        using var get = await _api.GetAsync("/api/agents/a2", Ct);
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    [Fact]
    public async Task A_heartbeat_with_duplicate_keys_is_400_naming_the_field()
    {
        using var register = await SendAsync(HttpMethod.Post, "/api/agents", """{"id":"a3","name":"A","capabilities":["x"]}""");
        register.EnsureSuccessStatusCode();

        using var response = await SendAsync(HttpMethod.Post, "/api/agents/a3/heartbeat", """{"status":"busy","status":"idle"}""");

        await AssertBadRequestNamingAsync(response, "status");
    }
}
