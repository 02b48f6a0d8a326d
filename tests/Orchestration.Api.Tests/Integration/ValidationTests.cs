using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Orchestration.Api.Tests.Integration;

/// <summary>Bad definitions, run inputs and listing queries are 4xx problem details that name the field and change nothing.</summary>
public sealed class ValidationTests : IntegrationTest
{
    private const string GoodStep = """{"id":"s1","agent":"worker"}""";

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string body, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(method, path) { Content = new StringContent(body, Encoding.UTF8, contentType) };
        return await Api.SendAsync(request, Ct);
    }

    private static async Task AssertNamesFieldAsync(HttpResponseMessage response, string field)
    {
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var errors = JsonDocument.Parse(text).RootElement.GetProperty("errors");
        Assert.True(errors.TryGetProperty(field, out _), $"no error for '{field}' in {errors}");
    }

    [Theory]
    [InlineData("""{"steps":[]}""", "steps")]
    [InlineData("""{"steps":[{"id":"s1","agent":"worker"},{"id":"s1","agent":"worker"}]}""", "steps[1].id")]
    [InlineData("""{"steps":[{"id":"s1"}]}""", "steps[0].agent")]
    [InlineData("""{"steps":[{"id":"s1","agent":"worker","capability":"code"}]}""", "steps[0].agent")]
    [InlineData("""{"steps":[{"id":"s1","agent":"worker","onFail":"MAYBE"}]}""", "steps[0].onFail")]
    [InlineData("""{"steps":[{"id":"s1","agent":"worker","maxAttempts":0}]}""", "steps[0].maxAttempts")]
    [InlineData("""{"steps":[{"id":"s1","agent":"worker","input":{"x":"{{steps.s2.output}}"}},{"id":"s2","agent":"worker"}]}""", "steps[0].input")]
    [InlineData("""{"steps":[{"id":"s1","agent":"worker","compensate":{"agent":"undo","input":"{{steps.s2.output}}"}},{"id":"s2","agent":"worker"}]}""", "steps[0].compensate.input")]
    [InlineData("""{"steps":[{"id":"s1","agent":"worker"}],"colour":"red"}""", "colour")]
    [InlineData("""{"steps":[{"id":"s1","agent":"worker","retries":2}]}""", "steps[0].retries")]
    [InlineData("""{"steps":[null]}""", "steps[0]")]
    [InlineData("""{"steps":null}""", "steps")]
    [InlineData("""{"steps":[{"id":"s1","agent":"worker","timeoutMs":50}]}""", "steps[0].timeoutMs")]
    [InlineData("""{"id":"other","steps":[{"id":"s1","agent":"worker"}]}""", "id")]
    [InlineData("""[1,2]""", "$")]
    [InlineData("""{"steps":[{"id":"s1","agent":"worker","dependsOn":["ghost"]}]}""", "steps[0].dependsOn[0]")]
    [InlineData("""{"steps":[{"id":"a","agent":"w","dependsOn":["b"]},{"id":"b","agent":"w","dependsOn":["a"]}]}""", "steps[0].dependsOn")]
    [InlineData("""{"steps":[{"id":"a","agent":"w","dependsOn":[]},{"id":"b","agent":"w","dependsOn":[],"input":"{{steps.a.output}}"}]}""", "steps[1].input")]
    [InlineData("""{"steps":[{"id":"a","agent":"w","when":"input.x = 1"}]}""", "steps[0].when")]
    [InlineData("""{"steps":[{"id":"a","agent":"w","dependsOn":[]},{"id":"b","agent":"w","dependsOn":[],"when":"steps.a.output.ok"}]}""", "steps[1].when")]
    [InlineData("""{"steps":[{"id":"a","type":"approval","agent":"w"}]}""", "steps[0].type")]
    [InlineData("""{"steps":[{"id":"a","type":"vote"}]}""", "steps[0].type")]
    [InlineData("""{"steps":[{"id":"a","agent":"w","signal":"go"}]}""", "steps[0].signal")]
    [InlineData("""{"maxParallelism":-1,"steps":[{"id":"a","agent":"w"}]}""", "maxParallelism")]
    [InlineData("""{"steps":[{"id":"a","agent":"not an id!"}]}""", "steps[0].agent")]
    [InlineData("""{"steps":[{"id":"a","capability":"reviews/all"}]}""", "steps[0].capability")]
    [InlineData("""{"steps":[{"id":"a","agent":"w","compensate":{"agent":"un do"}}]}""", "steps[0].compensate.agent")]
    [InlineData("""{"steps":[{"id":"a","agent":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}]}""", "steps[0].agent")]
    [InlineData("""{"steps":[{"id":"a","agent":".hidden"}]}""", "steps[0].agent")]
    [InlineData("""{"steps":[{"id":"a","agent":"w\u00e9"}]}""", "steps[0].agent")]
    [InlineData("""{"steps":[{"id":"a","capability":"ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"}]}""", "steps[0].capability")]
    [InlineData("""{"steps":[{"id":"a","capability":"-x"}]}""", "steps[0].capability")]
    [InlineData("""{"steps":[{"id":"a","agent":"w","compensate":{"agent":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}}]}""", "steps[0].compensate.agent")]
    [InlineData("""{"steps":[{"id":"d","type":"debate"}]}""", "steps[0].debate")]
    [InlineData("""{"steps":[{"id":"d","type":"debate","agent":"w","debate":{"participants":[{"agent":"a"},{"agent":"b"}],"judge":{"agent":"j"}}}]}""", "steps[0].type")]
    [InlineData("""{"steps":[{"id":"d","type":"debate","debate":{"participants":[{"agent":"a"}],"judge":{"agent":"j"}}}]}""", "steps[0].debate.participants")]
    [InlineData("""{"steps":[{"id":"d","type":"debate","debate":{"participants":[{"agent":"a"},{"agent":"b","capability":"c"}],"judge":{"agent":"j"}}}]}""", "steps[0].debate.participants[1].agent")]
    [InlineData("""{"steps":[{"id":"d","type":"debate","debate":{"participants":[{"agent":"a"},{"capability":"-c"}],"judge":{"agent":"j"}}}]}""", "steps[0].debate.participants[1].capability")]
    [InlineData("""{"steps":[{"id":"d","type":"debate","debate":{"participants":[{"agent":"a"},{"agent":"a"}],"judge":{"agent":"j"}}}]}""", "steps[0].debate.participants[1].name")]
    [InlineData("""{"steps":[{"id":"d","type":"debate","debate":{"participants":[{"agent":"a"},{"agent":"b"}],"rounds":6,"judge":{"agent":"j"}}}]}""", "steps[0].debate.rounds")]
    [InlineData("""{"steps":[{"id":"d","type":"debate","debate":{"participants":[{"agent":"a"},{"agent":"b"}]}}]}""", "steps[0].debate.judge")]
    [InlineData("""{"steps":[{"id":"d","type":"debate","debate":{"participants":[{"agent":"a"},{"agent":"b"}],"judge":{"agent":"j"},"criteria":[""]}}]}""", "steps[0].debate.criteria[0]")]
    [InlineData("""{"steps":[{"id":"d","type":"debate","debate":{"participants":[{"agent":"a"},{"agent":"b"}],"judge":{"agent":"j","votes":3}}}]}""", "steps[0].debate.judge.votes")]
    [InlineData("""{"steps":[{"id":"d","agent":"w","debate":{"participants":[{"agent":"a"},{"agent":"b"}],"judge":{"agent":"j"}}}]}""", "steps[0].debate")]
    [InlineData("""{"steps":[{"id":"d","type":"debate","forEach":{"items":"{{input.list}}"},"debate":{"participants":[{"agent":"a"},{"agent":"b"}],"judge":{"agent":"j"}}}]}""", "steps[0].forEach")]
    [InlineData("""{"steps":[{"id":"a","agent":"w","forEach":{"items":"input.list"}}]}""", "steps[0].forEach.items")]
    [InlineData("""{"steps":[{"id":"a","agent":"w","forEach":{"items":"{{steps.b.output}}"}},{"id":"b","agent":"w"}]}""", "steps[0].forEach.items")]
    [InlineData("""{"steps":[{"id":"a","agent":"w","forEach":{"items":"{{input.list}}","maxConcurrency":-1}}]}""", "steps[0].forEach.maxConcurrency")]
    [InlineData("""{"steps":[{"id":"a","agent":"w","input":"{{item}}"}]}""", "steps[0].input")]
    public async Task A_malformed_workflow_is_400_naming_the_field_and_is_not_stored(string body, string field)
    {
        using var response = await SendAsync(HttpMethod.Put, "/api/workflows/bad", body);

        await AssertNamesFieldAsync(response, field);
        using var get = await Api.GetAsync("/api/workflows/bad", Ct);
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    [Fact]
    public async Task A_workflow_sent_as_another_content_type_is_415_and_is_not_stored()
    {
        using var response = await SendAsync(HttpMethod.Put, "/api/workflows/bad", $$"""{"steps":[{{GoodStep}}]}""", "text/plain");

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var get = await Api.GetAsync("/api/workflows/bad", Ct);
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    [Fact]
    public async Task A_workflow_that_is_not_json_is_400_and_is_not_stored()
    {
        using var response = await SendAsync(HttpMethod.Put, "/api/workflows/bad", """{"steps":[""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var get = await Api.GetAsync("/api/workflows/bad", Ct);
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    [Theory]
    [InlineData("", """{"input":{}}""", "input.topic")]
    [InlineData("", """{"input":{"other":"x"}}""", "input.topic")]
    [InlineData("", """{"input":[1,2]}""", "input")]
    [InlineData("", """{"input":"text"}""", "input")]
    [InlineData("", """{"input":{"topic":"x"},"colour":"red"}""", "colour")]
    [InlineData("", """{"input":{"topic":"x"},"idempotencyKey":""}""", "idempotencyKey")]
    [InlineData("", """{"input":{"topic":"x"},"idempotencyKey":7}""", "idempotencyKey")]
    [InlineData("", """{"input":{"topic":""", "$")]
    [InlineData("", """[{"topic":"x"}]""", "$")]
    [InlineData("?waitMs=-1", """{"input":{"topic":"x"}}""", "waitMs")]
    [InlineData("?waitMs=99999999", """{"input":{"topic":"x"}}""", "waitMs")]
    public async Task A_malformed_run_start_is_400_naming_the_field_and_starts_nothing(string query, string body, string field)
    {
        var worker = await AgentAsync("worker");
        await Api.PutWorkflowAsync(Wf.Of("needs-topic", Wf.Step("s1", agent: "worker", input: new { about = "{{input.topic}}" })), Ct);

        using var response = await SendAsync(HttpMethod.Post, $"/api/workflows/needs-topic/runs{query}", body);

        await AssertNamesFieldAsync(response, field);
        Assert.Empty(await Api.ListRunsAsync(cancellationToken: Ct));
        Assert.Empty(worker.Received);
    }

    [Theory]
    [InlineData("?waitMs=abc", """{"input":{"topic":"x"}}""", "application/json", HttpStatusCode.BadRequest)]
    [InlineData("", """{"input":{"topic":"x"}}""", "text/plain", HttpStatusCode.UnsupportedMediaType)]
    public async Task A_run_start_with_an_unreadable_query_or_content_type_is_4xx_and_starts_nothing(string query, string body, string contentType, HttpStatusCode expected)
    {
        await Api.PutWorkflowAsync(Wf.Of("needs-topic", Wf.Step("s1", agent: "worker", input: new { about = "{{input.topic}}" })), Ct);

        using var response = await SendAsync(HttpMethod.Post, $"/api/workflows/needs-topic/runs{query}", body, contentType);

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await Api.ListRunsAsync(cancellationToken: Ct));
    }

    [Fact]
    public async Task Starting_a_run_of_an_unknown_workflow_is_404_and_starts_nothing()
    {
        using var response = await Api.PostAsJsonAsync("/api/workflows/nope/runs", new { input = new { } }, Ct);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Empty(await Api.ListRunsAsync(cancellationToken: Ct));
    }

    [Theory]
    [InlineData("?status=BOGUS", "status")]
    [InlineData("?cursor=garbage", "cursor")]
    [InlineData("?cursor=NaN:abc", "cursor")]
    [InlineData("?limit=0", "limit")]
    [InlineData("?limit=201", "limit")]
    public async Task Listing_runs_with_a_bad_filter_or_cursor_is_400_naming_it(string query, string field)
    {
        using var response = await Api.GetAsync($"/api/runs{query}", Ct);

        await AssertNamesFieldAsync(response, field);
    }
}
