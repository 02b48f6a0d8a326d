using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TestSupport;
using TestSupport.Fuzz;

namespace Ai.Gateway.Tests.Fuzz;

/// <summary>
/// The fuzz tier (issue 9): every route of ai-gateway, as its EndpointDataSource lists it (a new route is fuzzed
/// without a change here), gets <c>FUZZ_CASES</c> seeded malformed requests — bodies, headers, route values, query
/// values, mostly with a valid admin key so they reach the handlers. None may be a 5xx, drop the connection or hang;
/// every 4xx is problem details; the service is ready afterwards. The models are the offline provider (no keys), so
/// generations are real but local. <c>FUZZ_SEED</c> replays a run; see CONTRIBUTING.md.
/// </summary>
[Trait("Category", "Fuzz")]
public sealed class FuzzTests : IAsyncLifetime
{
    private const string Filter = "FullyQualifiedName~Ai.Gateway.Tests.Fuzz";

    private const string Schema = """{"type":"object","properties":{"name":{"type":"string"},"tags":{"type":"array","items":{"type":"string"}}},"required":["name"]}""";

    private static readonly Dictionary<string, string[]> Seeds = new(StringComparer.Ordinal)
    {
        ["POST /v1/generate"] =
        [
            """{"input":"hi","system":"be brief","model":"auto","route":{"taskType":"code","complexity":"high","cost":"low","speed":"fast"},"temperature":0.2,"maxTokens":64,"stream":false}""",
            """{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}],"json":true,"schema":""" + Schema + ""","tools":["echo","calculator"]}""",
            """{"preset":"concise","prompt":{"format":"json","task":"list"},"language":"ar","stream":true}""",
        ],
        ["POST /v1/generate/batch"] = ["""{"requests":[{"input":"a"},{"input":"b","json":true,"schema":""" + Schema + """}],"concurrency":2}"""],
        ["POST /v1/chat/completions"] =
        [
            """{"model":"gemini-3.5-flash","messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"hi"}]}],"temperature":0.5,"top_p":1,"max_tokens":32,"stop":["x"],"seed":1,"stream":false}""",
            """{"model":"auto","messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"echo","arguments":"{\"message\":\"m\"}"}}]},{"role":"tool","tool_call_id":"c1","content":"m"}],"tools":[{"type":"function","function":{"name":"echo","description":"d","parameters":{"type":"object","properties":{"message":{"type":"string"}}}}}],"tool_choice":"auto","stream":true,"stream_options":{"include_usage":true}}""",
            """{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":""" + Schema + ""","strict":true}},"reasoning_effort":"low"}""",
        ],
        ["POST /v1/embeddings"] =
        [
            """{"input":"hello","model":"gemini-embedding-001","encoding_format":"float","dimensions":8,"user":"u"}""",
            """{"input":["a","b c"],"model":"auto","encoding_format":"base64"}""",
            """{"input":[1,2,3]}""",
        ],
        ["POST /v1/tools/{name}/invoke"] =
            ["""{"arguments":{"message":"hi"}}""", """{"arguments":{"expression":"1+2*3"}}""", """{"arguments":{"url":"http://127.0.0.1:1/"}}""", """{"arguments":{}}"""],
        // MapMcp's group gives the route a trailing slash; /mcp and /mcp/ both reach it.
        ["POST /mcp/"] =
        [
            """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"fuzz","version":"1"}}}""",
            """{"jsonrpc":"2.0","id":"a","method":"tools/list","params":{"cursor":"x"}}""",
            """{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"calculate","arguments":{"expression":"1+2*3"},"_meta":{"progressToken":1}}}""",
            """{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hi"}}}""",
            """{"jsonrpc":"2.0","method":"notifications/initialized"}""",
        ],
        ["POST /v1/prompts/{format}/render"] =
        [
            """{"task":"list three things","language":"en"}""",
            """{"question":"q","documents":[{"title":"t","content":"c"}]}""",
            """{"task":"t","examples":[{"input":"i","output":"o"}],"language":"ar"}""",
        ],
    };

    private RedisServer _redis = null!;
    private ServiceFactory<Program> _factory = null!;
    private HttpClient _api = null!;
    private readonly Dictionary<string, List<string>> _names = new(StringComparer.Ordinal);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        // Its own Redis: usage counters and buckets the fuzzer moves must not touch other tests.
        _redis = await RedisServer.StartAsync();
        _factory = new ServiceFactory<Program>(_redis.ConnectionString, new Dictionary<string, string?> { ["HostedAgents:Enabled"] = "false" });
        _api = _factory.CreateAuthorizedClient();
        _names["models"] = await NamesAsync("/v1/models", "id");
        _names["tools"] = await NamesAsync("/v1/tools", "name");
        _names["prompts"] = await NamesAsync("/v1/prompts", "name");
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
        Assert.Contains(routes, r => r.Key == "POST /v1/chat/completions");
        Assert.Contains(routes, r => r.Key == "POST /v1/prompts/{format}/render");
        Assert.Contains(routes, r => r.Key == "POST /mcp/");

        var settings = FuzzSettings.FromEnvironment();
        var report = await HttpFuzzer.RunAsync(_api.BaseAddress!, new FuzzTarget
        {
            ApiKey = ServiceFactory<Program>.ApiKey,
            Routes = routes,
            SeedBodies = Seeds,
            KnownValues = KnownValues,
            // Streamable HTTP refuses (406) a POST that does not accept both; with them the fuzz reaches JSON-RPC.
            RouteHeaders = route => route.Template == "/mcp/" ? [new("Accept", "application/json, text/event-stream")] : [],
        }, settings, Ct);
        TestContext.Current.TestOutputHelper?.WriteLine("ai-gateway fuzz: " + report.Summary());

        Assert.True(report.FailureCount == 0, report.Describe(Filter));
        Assert.All(routes, r => Assert.True(settings.OnlyCase is not null || report.PerRoute.ContainsKey(r.Key), $"{r.Key} was not fuzzed"));
        using var ready = await _api.GetAsync("/health/ready", Ct);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    private IReadOnlyList<string> KnownValues(FuzzRoute route, string parameter) => (route.Template, parameter) switch
    {
        (var t, "id") when t.StartsWith("/v1/models", StringComparison.Ordinal) => _names["models"],
        (_, "name") when route.Template.StartsWith("/v1/tools", StringComparison.Ordinal) => _names["tools"],
        (_, "format") or (_, "name") => _names["prompts"],
        _ => [],
    };

    /// <summary>Every string under a property called <paramref name="property"/> anywhere in the answer of <paramref name="path"/>.</summary>
    private async Task<List<string>> NamesAsync(string path, string property)
    {
        var names = new List<string>();
        void Walk(JsonElement element)
        {
            if (element.ValueKind == JsonValueKind.Object)
            {
                foreach (var p in element.EnumerateObject())
                {
                    if (p.Name == property && p.Value.ValueKind == JsonValueKind.String)
                    {
                        names.Add(p.Value.GetString()!);
                    }

                    Walk(p.Value);
                }
            }
            else if (element.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in element.EnumerateArray())
                {
                    Walk(item);
                }
            }
        }

        Walk(await _api.GetFromJsonAsync<JsonElement>(path, Ct));
        Assert.NotEmpty(names);
        return names;
    }
}
