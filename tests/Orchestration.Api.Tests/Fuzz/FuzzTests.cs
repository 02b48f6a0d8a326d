using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TestSupport;
using TestSupport.Fuzz;

namespace Orchestration.Api.Tests.Fuzz;

/// <summary>
/// The fuzz tier (issue 9): every route of orchestration-api, as its EndpointDataSource lists it (a new route is fuzzed
/// without a change here), gets <c>FUZZ_CASES</c> seeded malformed requests — bodies, headers, route values, query
/// values, mostly with a valid admin key so they reach the handlers. None may be a 5xx, drop the connection or hang;
/// every 4xx is problem details; the service is ready afterwards. <c>FUZZ_SEED</c> replays a run (the seed is in the
/// failure message). CI size: <see cref="FuzzSettings.DefaultCases"/>; locally e.g.
/// <c>FUZZ_CASES=50000 ./scripts/test --filter "Category=Fuzz"</c>.
/// </summary>
[Trait("Category", "Fuzz")]
public sealed class FuzzTests : IAsyncLifetime
{
    private const string Filter = "FullyQualifiedName~Orchestration.Api.Tests.Fuzz";

    private static readonly Dictionary<string, string[]> Seeds = new(StringComparer.Ordinal)
    {
        ["POST /api/agents"] =
        [
            """{"id":"fuzz-agent-2","name":"Fuzz","capabilities":["fuzzing","x"],"topic":"fuzz.topic","metadata":{"k":"v"},"heartbeatTtlSeconds":30,"status":"active"}""",
            """{"id":"fuzz-agent","name":"Fuzz","capabilities":["fuzzing"]}""",
        ],
        ["POST /api/agents/{id}/heartbeat"] = ["""{"status":"busy"}""", """{"status":"active"}"""],
        ["PUT /api/workflows/{id}"] =
        [
            """{"description":"d","maxParallelism":2,"timeoutMs":600000,"steps":[{"id":"s1","agent":"fuzz-agent","input":{"about":"{{input.topic}}"},"onFail":"RETRY","maxAttempts":3,"backoff":{"type":"exponential","baseMs":500,"maxMs":30000,"jitter":true},"timeoutMs":60000,"compensate":{"agent":"undo","input":{"x":"{{steps.s1.output}}"}}},{"id":"ok","type":"approval","signal":"approve","dependsOn":["s1"],"timeoutMs":60000,"onFail":"ABORT"},{"id":"each","capability":"fuzzing","dependsOn":["ok"],"when":"steps.ok.output.approved == true and input.topic != \"x\"","forEach":{"items":"{{input.items}}","maxConcurrency":2},"input":{"item":"{{item}}"}}]}""",
            """{"steps":[{"id":"s1","capability":"fuzzing","input":"{{input}}"}]}""",
        ],
        ["POST /api/workflows/{id}/runs"] = ["""{"input":{"topic":"fuzz","items":[1,2]},"idempotencyKey":"fuzz-key","version":1}""", """{"input":{"topic":"x"}}"""],
        ["POST /api/runs/{runId}/signals/{name}"] = ["""{"approved":true,"by":"fuzzer","comment":"c","data":{"a":[1,2,{"b":null}]}}"""],
    };

    private RedisServer _redis = null!;
    private ServiceFactory<Program> _factory = null!;
    private HttpClient _api = null!;
    private readonly List<string> _runIds = [];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        // Its own Redis: the fuzzer writes agents, workflows and runs other tests must not see.
        _redis = await RedisServer.StartAsync();
        // waitMs is bounded so a fuzzed ?waitMs= on a run nobody works on holds a request for 2 s, not 2 minutes.
        _factory = new ServiceFactory<Program>(_redis.ConnectionString, new Dictionary<string, string?> { ["Orchestration:MaxWaitMs"] = "2000" });
        _api = _factory.CreateAuthorizedClient();

        await SendOkAsync(HttpMethod.Post, "/api/agents", """{"id":"fuzz-agent","name":"Fuzz","capabilities":["fuzzing"]}""");
        await SendOkAsync(HttpMethod.Put, "/api/workflows/fuzz", Seeds["PUT /api/workflows/{id}"][0]);
        for (var i = 0; i < 2; i++)
        {
            using var run = await SendOkAsync(HttpMethod.Post, "/api/workflows/fuzz/runs", "{\"input\":{\"topic\":\"fuzz " + i.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\",\"items\":[1,2]}}");
            _runIds.Add((await run.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("runId").GetString()!);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _api.Dispose();
        await _factory.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task Every_route_answers_malformed_requests_without_a_5xx_and_the_service_stays_ready()
    {
        var routes = FuzzRoute.Discover(_factory.Services);
        Assert.Contains(routes, r => r.Key == "PUT /api/workflows/{id}");
        Assert.Contains(routes, r => r.Key == "POST /api/runs/{runId}/signals/{name}");

        var settings = FuzzSettings.FromEnvironment();
        var report = await HttpFuzzer.RunAsync(_api.BaseAddress!, new FuzzTarget
        {
            ApiKey = ServiceFactory<Program>.ApiKey,
            Routes = routes,
            SeedBodies = Seeds,
            KnownValues = KnownValues,
        }, settings, Ct);
        TestContext.Current.TestOutputHelper?.WriteLine("orchestration-api fuzz: " + report.Summary());

        Assert.True(report.FailureCount == 0, report.Describe(Filter));
        Assert.All(routes, r => Assert.True(settings.OnlyCase is not null || report.PerRoute.ContainsKey(r.Key), $"{r.Key} was not fuzzed"));
        using var ready = await _api.GetAsync("/health/ready", Ct);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    private IReadOnlyList<string> KnownValues(FuzzRoute route, string parameter) => (route.Template, parameter) switch
    {
        (_, "runId") => _runIds,
        (_, "name") => ["approve", "ok"],
        (_, "version") => ["1", "2"],
        (_, "topic") => ["orchestration.results", "fuzz.topic"],
        (var t, "id") when t.StartsWith("/api/agents", StringComparison.Ordinal) => ["fuzz-agent", "fuzz-agent-2"],
        (var t, "id") when t.StartsWith("/api/workflows", StringComparison.Ordinal) => ["fuzz", "software-team"],
        (var t, "id") when t.StartsWith("/api/dead-letters", StringComparison.Ordinal) => ["0-1", "1-0"],
        (_, "documentName") => ["v1"],
        _ => [],
    };

    private async Task<HttpResponseMessage> SendOkAsync(HttpMethod method, string path, string json)
    {
        var response = await _api.SendAsync(new HttpRequestMessage(method, path) { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") }, Ct);
        Assert.True(response.IsSuccessStatusCode, $"{method} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Ct)}");
        return response;
    }
}
