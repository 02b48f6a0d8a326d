using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Ai.Gateway.Tests.Tools;
using TestSupport;

namespace Ai.Gateway.Tests.Prompts;

public sealed class PromptsApiFixture(RedisFixture redis) : IAsyncLifetime
{
    public ServiceFactory<Program> Factory { get; private set; } = null!;

    public ValueTask InitializeAsync()
    {
        Factory = new ServiceFactory<Program>(redis.ConnectionString);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => Factory.DisposeAsync();
}

public sealed class PromptsApiTests(PromptsApiFixture fixture) : IClassFixture<PromptsApiFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Rendering_without_a_key_is_401()
    {
        using var client = fixture.Factory.CreateClient();

        using var response = await ToolsApiTests.PostJsonAsync(client, "/v1/prompts/json/render", """{ "task": "x" }""");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Listing_shows_formats_presets_and_languages()
    {
        using var client = fixture.Factory.CreateAuthorizedClient();

        var catalog = await client.GetFromJsonAsync<JsonElement>("/v1/prompts", Cancel);

        Assert.Equal(["en", "ar"], catalog.GetProperty("languages").EnumerateArray().Select(l => l.GetString()));
        Assert.Equal(["json", "context", "examples", "code", "extraction"], catalog.GetProperty("formats").EnumerateArray().Select(f => f.GetProperty("name").GetString()));
        Assert.Equal("object", catalog.GetProperty("formats")[0].GetProperty("requestSchema").GetProperty("type").GetString());
        Assert.Equal(6, catalog.GetProperty("presets").GetArrayLength());
    }

    [Fact]
    public async Task Rendering_returns_the_prompt_and_its_messages_in_the_language_asked_for()
    {
        using var client = fixture.Factory.CreateAuthorizedClient();

        using var response = await ToolsApiTests.PostJsonAsync(client, "/v1/prompts/extraction/render", PromptFormatTests.SampleRequest("extraction", "ar"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Cancel);
        Assert.Equal("extraction", body.GetProperty("format").GetString());
        Assert.Equal("ar", body.GetProperty("language").GetString());
        Assert.Matches(new Regex(@"\p{IsArabic}"), body.GetProperty("system").GetString());
        Assert.Equal(JsonValueKind.Object, body.GetProperty("responseSchema").ValueKind);
        var messages = body.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(["system", "user"], messages.Select(m => m.GetProperty("role").GetString()));
        Assert.Equal(body.GetProperty("prompt").GetString(), messages[1].GetProperty("content").GetString());
    }

    [Fact]
    public async Task A_request_with_missing_fields_is_422_problem_details_with_paths()
    {
        using var client = fixture.Factory.CreateAuthorizedClient();

        using var response = await ToolsApiTests.PostJsonAsync(client, "/v1/prompts/context/render", """{ "language": "ar", "question": "?" }""");

        var problem = await ToolsApiTests.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.Equal("/documents", problem.GetProperty("errors")[0].GetProperty("path").GetString());
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("42")]
    [InlineData("{ \"task\": ")]
    public async Task A_body_that_is_not_a_json_object_is_400_problem_details(string body)
    {
        using var client = fixture.Factory.CreateAuthorizedClient();

        using var response = await ToolsApiTests.PostJsonAsync(client, "/v1/prompts/json/render", body);

        await ToolsApiTests.AssertProblemAsync(response, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task An_unknown_format_is_404_problem_details()
    {
        using var client = fixture.Factory.CreateAuthorizedClient();

        using var response = await ToolsApiTests.PostJsonAsync(client, "/v1/prompts/sonnet/render", "{}");

        await ToolsApiTests.AssertProblemAsync(response, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_preset_comes_in_the_language_asked_for()
    {
        using var client = fixture.Factory.CreateAuthorizedClient();

        var preset = await client.GetFromJsonAsync<JsonElement>("/v1/prompts/presets/code-review?language=ar", Cancel);

        Assert.Equal("ar", preset.GetProperty("language").GetString());
        Assert.Matches(new Regex(@"\p{IsArabic}"), preset.GetProperty("system").GetString());
        Assert.Equal("system", preset.GetProperty("messages")[0].GetProperty("role").GetString());
        Assert.True(preset.GetProperty("messages").GetArrayLength() >= 3);
    }

    [Theory]
    [InlineData("/v1/prompts/presets/pirate", HttpStatusCode.NotFound)]
    [InlineData("/v1/prompts/presets/base?language=fr", HttpStatusCode.BadRequest)]
    public async Task Unknown_presets_and_languages_are_problem_details(string path, HttpStatusCode status)
    {
        using var client = fixture.Factory.CreateAuthorizedClient();

        using var response = await client.GetAsync(path, Cancel);

        await ToolsApiTests.AssertProblemAsync(response, status);
    }
}
