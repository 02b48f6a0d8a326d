using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Orchestration.Api.Tests.Functional;

/// <summary>
/// Every 4xx a handler answers with a reason is RFC 9457 problem details — <c>application/problem+json</c>, not a
/// ProblemDetails object serialized as plain <c>application/json</c> — also to a client whose Accept header rules JSON
/// out (found by the fuzz tier, issue 9).
/// </summary>
public sealed class ProblemDetailsAnswerTests(RedisFixture redis) : IAsyncLifetime
{
    private OrchestrationApiFactory _factory = null!;
    private HttpClient _api = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private const string AgentOnlyKey = "agent-only-key-0123456789abcdef";

    public ValueTask InitializeAsync()
    {
        _factory = new OrchestrationApiFactory(redis, new Dictionary<string, string?>
        {
            ["Auth:ApiKeys:agentonly"] = AgentOnlyKey,
            ["Auth:Roles:agentonly"] = "agent",
        });
        _api = _factory.CreateAuthorizedClient();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        _api.Dispose();
        await _factory.DisposeAsync();
    }

    private async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string title)
    {
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == status, $"{(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(text).RootElement;
        Assert.Equal(title, problem.GetProperty("title").GetString());
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("detail").GetString()));
    }

    [Fact]
    public async Task Starting_a_run_of_an_unknown_workflow_is_404_problem_details()
    {
        using var response = await _api.PostAsJsonAsync("/api/workflows/no-such-workflow/runs", new { input = new { } }, Ct);

        await AssertProblemAsync(response, HttpStatusCode.NotFound, "Unknown workflow");
    }

    [Fact]
    public async Task A_signal_to_an_unknown_run_is_404_problem_details()
    {
        using var response = await _api.PostAsJsonAsync("/api/runs/no-such-run/signals/approve", new { approved = true }, Ct);

        await AssertProblemAsync(response, HttpStatusCode.NotFound, "Unknown run");
    }

    [Fact]
    public async Task Replaying_an_unknown_dead_letter_is_404_problem_details()
    {
        using var response = await _api.PostAsync("/api/dead-letters/no-such-topic/1-0/replay", null, Ct);

        await AssertProblemAsync(response, HttpStatusCode.NotFound, "Unknown dead letter");
    }

    [Fact]
    public async Task Cancelling_or_signalling_an_ended_run_is_409_problem_details()
    {
        using var put = await _api.PutAsJsonAsync("/api/workflows/problem-answers",
            new { steps = new object[] { new { id = "ok", type = "approval" } } }, Ct);
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync(Ct));
        using var start = await _api.PostAsJsonAsync("/api/workflows/problem-answers/runs", new { input = new { } }, Ct);
        var runId = (await start.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("runId").GetString();
        using var cancel = await _api.PostAsync($"/api/runs/{runId}/cancel", null, Ct);
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);

        using var again = await _api.PostAsync($"/api/runs/{runId}/cancel", null, Ct);
        await AssertProblemAsync(again, HttpStatusCode.Conflict, "The run is already ending");
        using var signal = await _api.PostAsJsonAsync($"/api/runs/{runId}/signals/ok", new { approved = true }, Ct);
        await AssertProblemAsync(signal, HttpStatusCode.Conflict, "The run is already ending");
    }

    [Fact]
    public async Task An_unknown_openapi_document_is_404_problem_details_and_v1_is_served()
    {
        using var unknown = await _api.GetAsync("/openapi/v2.json", Ct);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);

        using var v1 = await _api.GetAsync("/openapi/v1.json?documentName=v2", Ct);
        Assert.Equal(HttpStatusCode.OK, v1.StatusCode);
        Assert.Contains("/api/workflows/{id}", await v1.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    public static TheoryData<string> AcceptsWithoutJson => ["text/html", "application/xml", "text/event-stream", "junk"];

    [Theory]
    [MemberData(nameof(AcceptsWithoutJson))]
    public async Task A_missing_key_is_401_problem_details_whatever_the_client_accepts(string accept)
    {
        using var anonymous = _factory.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/runs");
        request.Headers.TryAddWithoutValidation("Accept", accept);

        using var response = await anonymous.SendAsync(request, Ct);

        await AssertProblemAsync(response, HttpStatusCode.Unauthorized, "Unauthorized");
    }

    [Theory]
    [MemberData(nameof(AcceptsWithoutJson))]
    public async Task A_missing_role_is_403_problem_details_whatever_the_client_accepts(string accept)
    {
        using var agent = _factory.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Delete, "/api/agents/someone");
        request.Headers.Add("X-Api-Key", AgentOnlyKey);
        request.Headers.TryAddWithoutValidation("Accept", accept);

        using var response = await agent.SendAsync(request, Ct);

        await AssertProblemAsync(response, HttpStatusCode.Forbidden, "Forbidden");
    }

    [Theory]
    [MemberData(nameof(AcceptsWithoutJson))]
    public async Task A_declared_body_over_the_limit_is_413_problem_details_whatever_the_client_accepts(string accept)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, "/api/workflows/too-big")
        {
            Content = new ByteArrayContent(new byte[(1024 * 1024) + 1]),
        };
        request.Headers.TryAddWithoutValidation("Accept", accept);
        request.Headers.ExpectContinue = true; // the server answers before the body is sent
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");

        using var response = await _api.SendAsync(request, Ct);

        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "Request body too large");
    }
}
