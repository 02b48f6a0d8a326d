using System.Text.Json;
using System.Text.RegularExpressions;

namespace AppHost.Tests.Deploy;

/// <summary>
/// The deploy shape: the AppHost's publish manifest (what azd reads) and the container-app templates
/// in AppHost/infra (what azd deploys for each resource) say the same thing, and say what the README
/// and RUNBOOK promise: external services, probes, replica ranges, a Redis that keeps its data (or a
/// managed Redis by secret connection string), every secret a secret parameter.
/// </summary>
public sealed partial class ManifestTests
{
    public static readonly TheoryData<string> Services = new("orchestration-api", "ai-gateway");

    /// <summary>Everything azd deploys as a container app with an external endpoint: the services and the console.</summary>
    public static readonly TheoryData<string> PublicApps = new("orchestration-api", "ai-gateway", "console");

    [Fact]
    public async Task Redis_is_a_container_that_keeps_its_data_in_a_volume_with_an_append_only_file()
    {
        var redis = (await PublishedManifest.Default).Resource("redis");

        Assert.Equal("container.v0", redis.GetProperty("type").GetString());
        var volume = Assert.Single(redis.GetProperty("volumes").EnumerateArray());
        Assert.Equal("redis-data", volume.GetProperty("name").GetString());
        Assert.Equal("/data", volume.GetProperty("target").GetString());
        Assert.False(volume.GetProperty("readOnly").GetBoolean());
        var command = redis.GetProperty("args").EnumerateArray().Last().GetString();
        Assert.Contains("--appendonly yes", command, StringComparison.Ordinal);
        Assert.Contains("--requirepass $REDIS_PASSWORD", command, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_managed_redis_is_a_secret_connection_string_parameter_and_no_container()
    {
        var manifest = await PublishedManifest.ManagedRedis;

        var redis = manifest.Resource("redis");
        Assert.Equal("parameter.v0", redis.GetProperty("type").GetString());
        var input = redis.GetProperty("inputs").GetProperty("value");
        Assert.True(input.GetProperty("secret").GetBoolean());
        Assert.False(input.TryGetProperty("default", out _), "azd must ask for the connection string");
        Assert.DoesNotContain(manifest.GetProperty("resources").EnumerateObject(), r => r.Value.GetProperty("type").GetString()!.StartsWith("container", StringComparison.Ordinal));
        foreach (var service in Services)
        {
            Assert.Equal("{redis.connectionString}", manifest.Resource(service).GetProperty("env").GetProperty("ConnectionStrings__redis").GetString());
        }
    }

    [Theory]
    [MemberData(nameof(Services))]
    public async Task Each_service_is_a_project_that_references_redis_and_nothing_but_its_connection_string(string name)
    {
        var service = (await PublishedManifest.Default).Resource(name);

        Assert.Equal("project.v0", service.GetProperty("type").GetString());
        var env = service.GetProperty("env");
        Assert.Equal("{redis.connectionString}", env.GetProperty("ConnectionStrings__redis").GetString());
        Assert.DoesNotContain(env.EnumerateObject(), v => v.Name.StartsWith("REDIS_", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(PublicApps))]
    public async Task Each_service_has_external_http_endpoints(string name)
    {
        var bindings = (await PublishedManifest.Default).Resource(name).GetProperty("bindings");

        Assert.True(bindings.GetProperty("http").GetProperty("external").GetBoolean());
        Assert.True(bindings.GetProperty("https").GetProperty("external").GetBoolean());
    }

    [Theory]
    [InlineData("ai-gateway", "Auth__ApiKeys__client", "api-key")]
    [InlineData("orchestration-api", "Auth__ApiKeys__client", "api-key")]
    [InlineData("orchestration-api", "Auth__ApiKeys__gateway", "gateway-service-key")]
    [InlineData("orchestration-api", "Auth__ApiKeys__console", "console-api-key")]
    [InlineData("ai-gateway", "Auth__ApiKeys__console", "console-api-key")]
    [InlineData("ai-gateway", "HostedAgents__ApiKey", "gateway-service-key")]
    [InlineData("ai-gateway", "Bus__Signing__Keys__0__Secret", "bus-key-ai-gateway")]
    [InlineData("ai-gateway", "Bus__Signing__Keys__1__Secret", "bus-key-orchestration-api")]
    [InlineData("orchestration-api", "Bus__Signing__Keys__0__Secret", "bus-key-orchestration-api")]
    [InlineData("orchestration-api", "Bus__Signing__Keys__1__Secret", "bus-key-ai-gateway")]
    [InlineData("orchestration-api", "Bus__Signing__Keys__2__Secret", "bus-key-outside-agents")]
    [InlineData("ai-gateway", "Gemini__ApiKey", "gemini-api-key")]
    public async Task Secrets_come_from_secret_parameters(string service, string variable, string parameter)
    {
        var manifest = await PublishedManifest.Default;

        Assert.Equal($"{{{parameter}.value}}", manifest.Resource(service).GetProperty("env").GetProperty(variable).GetString());
        var definition = manifest.Resource(parameter);
        Assert.Equal("parameter.v0", definition.GetProperty("type").GetString());
        Assert.True(definition.GetProperty("inputs").GetProperty("value").GetProperty("secret").GetBoolean());
    }

    [Theory]
    [InlineData("api-key")]
    [InlineData("gateway-service-key")]
    [InlineData("bus-key-orchestration-api")]
    [InlineData("bus-key-ai-gateway")]
    [InlineData("bus-key-outside-agents")]
    [InlineData("console-api-key")]
    [InlineData("redis-password")]
    public async Task Azd_generates_the_keys_instead_of_asking(string parameter)
    {
        var input = (await PublishedManifest.Default).Resource(parameter).GetProperty("inputs").GetProperty("value");

        Assert.True(input.GetProperty("default").GetProperty("generate").GetProperty("minLength").GetInt32() >= 22);
    }

    [Theory]
    [InlineData("orchestration-api", "Orchestration.Api", "0:orchestration-api:Orchestration.Api:active", "1:ai-gateway:Ai.Gateway:verify-only", "2:outside-agents:outside.*:verify-only")]
    [InlineData("ai-gateway", "Ai.Gateway", "0:ai-gateway:Ai.Gateway:active", "1:orchestration-api:Orchestration.Api:verify-only")]
    public async Task Each_service_signs_with_its_own_key_bound_to_its_name_and_only_verifies_the_others(string service, string busName, params string[] keys)
    {
        var env = (await PublishedManifest.Default).Resource(service).GetProperty("env");

        Assert.Equal(busName, env.GetProperty("Bus__ServiceName").GetString());
        foreach (var key in keys)
        {
            var (index, rest) = (key[..key.IndexOf(':', StringComparison.Ordinal)], key[(key.IndexOf(':', StringComparison.Ordinal) + 1)..].Split(':'));
            Assert.Equal(rest[0], env.GetProperty($"Bus__Signing__Keys__{index}__Id").GetString());
            Assert.Equal(rest[1], env.GetProperty($"Bus__Signing__Keys__{index}__Senders").GetString());
            Assert.Equal(rest[2], env.GetProperty($"Bus__Signing__Keys__{index}__State").GetString());
        }

        Assert.False(env.TryGetProperty($"Bus__Signing__Keys__{keys.Length}__Id", out _));
    }

    [Fact]
    public async Task The_gateways_service_key_has_only_the_agent_role()
    {
        // Issue 9: the key ai-gateway uses to register its hosted agents may register and heartbeat them, nothing else.
        var env = (await PublishedManifest.Default).Resource("orchestration-api").GetProperty("env");

        Assert.Equal("agent", env.GetProperty("Auth__Roles__gateway").GetString());
        Assert.Equal("client,admin", env.GetProperty("Auth__Roles__client").GetString());
    }

    [Fact]
    public async Task The_gemini_key_is_always_declared_and_azd_asks_for_it()
    {
        foreach (var manifest in new[] { await PublishedManifest.Default, await PublishedManifest.ManagedRedis })
        {
            var input = manifest.Resource("gemini-api-key").GetProperty("inputs").GetProperty("value");

            Assert.True(input.GetProperty("secret").GetBoolean());
            // azd refuses a default on a secret parameter; without one it asks (Enter leaves it empty: offline).
            Assert.False(input.TryGetProperty("default", out _));
        }
    }

    [Theory]
    [MemberData(nameof(PublicApps))]
    public async Task The_azd_template_carries_exactly_the_manifest_environment(string name)
    {
        var manifest = await PublishedManifest.Default;
        var env = manifest.Resource(name).GetProperty("env");
        var template = AzdTemplate.Load(name);
        var templateEnv = template.Environment;

        Assert.Equal(
            env.EnumerateObject().Select(v => v.Name).Order(StringComparer.Ordinal),
            templateEnv.Keys.Where(k => k != "AZURE_CLIENT_ID").Order(StringComparer.Ordinal));

        foreach (var variable in env.EnumerateObject())
        {
            var expression = variable.Value.GetString()!;
            var (value, secretRef) = templateEnv[variable.Name];
            var secretParameters = SecretParameters(manifest, expression).ToList();
            if (variable.Name.StartsWith("ConnectionStrings__", StringComparison.Ordinal) || secretParameters.Count > 0)
            {
                // azd's rule: connection strings and anything holding a secret parameter are container-app secrets.
                Assert.Equal(variable.Name.ToLowerInvariant().Replace('_', '-'), secretRef);
                Assert.All(secretParameters, p => Assert.Contains($"«securedParameter \"{p.Replace('-', '_')}\"»", template.Secrets[secretRef!], StringComparison.Ordinal));
            }
            else if (!expression.Contains('{', StringComparison.Ordinal))
            {
                Assert.Equal(expression, value);
            }
            else
            {
                Assert.False(string.IsNullOrEmpty(value), $"{variable.Name} has no value in the template");
            }
        }
    }

    [Theory]
    [MemberData(nameof(PublicApps))]
    public async Task The_azd_template_exposes_the_service_and_probes_alive_and_ready(string name)
    {
        var bindings = (await PublishedManifest.Default).Resource(name).GetProperty("bindings");
        var template = AzdTemplate.Load(name);

        var ingress = template.Map("properties", "configuration", "ingress");
        Assert.Equal(bindings.GetProperty("http").GetProperty("external").GetBoolean().ToString().ToLowerInvariant(), ingress["external"]);
        var probes = ((List<object>)template.Container["probes"]).Cast<Dictionary<object, object>>().ToDictionary(p => (string)p["type"]);
        Assert.Equal(["Liveness", "Readiness"], probes.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("/alive", Get(probes["Liveness"], "httpGet", "path"));
        Assert.Equal("/health/ready", Get(probes["Readiness"], "httpGet", "path"));
        Assert.All(probes.Values, p => Assert.Equal(ingress["targetPort"], Get(p, "httpGet", "port")));
    }

    [Theory]
    [MemberData(nameof(PublicApps))]
    public void The_azd_template_sets_a_replica_range_of_at_least_one(string name)
    {
        var scale = AzdTemplate.Load(name).Map("properties", "template", "scale");
        var variable = name.Replace('-', '_');

        Assert.Equal($"«parameterWithDefault \"{variable}_min_replicas\" \"1\"»", scale["minReplicas"]);
        Assert.Matches($"^«parameterWithDefault \"{variable}_max_replicas\" \"[1-9][0-9]*\"»$", (string)scale["maxReplicas"]);
        Assert.NotEmpty((List<object>)scale["rules"]);
    }

    [Fact]
    public async Task The_console_holds_no_key_and_finds_both_services_by_service_discovery()
    {
        var env = (await PublishedManifest.Default).Resource("console").GetProperty("env");

        Assert.DoesNotContain(env.EnumerateObject(), v => v.Value.GetString()!.Contains(".value}", StringComparison.Ordinal));
        Assert.Equal("{orchestration-api.bindings.https.url}", env.GetProperty("services__orchestration-api__https__0").GetString());
        Assert.Equal("{ai-gateway.bindings.https.url}", env.GetProperty("services__ai-gateway__https__0").GetString());
        Assert.Equal("sticky", AzdTemplate.Load("console").Text("properties", "configuration", "ingress", "stickySessions", "affinity"));
    }

    [Fact]
    public async Task The_redis_template_runs_the_manifest_container_with_its_volume_and_exactly_one_replica()
    {
        var redis = (await PublishedManifest.Default).Resource("redis");
        var template = AzdTemplate.Load("redis");

        Assert.Equal(redis.GetProperty("args").EnumerateArray().Select(a => a.GetString()), ((List<object>)template.Container["args"]).Cast<string>());
        Assert.Equal(redis.GetProperty("entrypoint").GetString(), ((List<object>)template.Container["command"]).Cast<string>().Single());
        var mount = ((List<object>)template.Container["volumeMounts"]).Cast<Dictionary<object, object>>().Single();
        Assert.Equal("/data", mount["mountPath"]);
        var volume = template.List("properties", "template", "volumes").Cast<Dictionary<object, object>>().Single();
        Assert.Equal(mount["volumeName"], volume["name"]);
        Assert.Equal("AzureFile", volume["storageType"]);
        Assert.Equal("«.Env.SERVICE_REDIS_VOLUME_REDIS_DATA_NAME»", volume["storageName"]);
        Assert.Equal("redis-password", template.Environment["REDIS_PASSWORD"].SecretRef);
        Assert.Equal("«securedParameter \"redis_password\"»", template.Secrets["redis-password"]);
        Assert.Equal("1", template.Text("properties", "template", "scale", "minReplicas"));
        Assert.Equal("1", template.Text("properties", "template", "scale", "maxReplicas"));
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void The_service_templates_take_the_managed_redis_connection_string_when_azure_redis_mode_says_so(string name)
    {
        var secret = AzdTemplate.Load(name).Secrets["connectionstrings--redis"];

        Assert.Equal(
            "«if eq (parameterWithDefault \"redis_mode\" \"container\") \"connectionString\"»«securedParameter \"redis\"»" +
            "«else»redis:6379,password=«securedParameter \"redis_password\"»«end»",
            secret);
    }

    [Fact]
    public async Task The_readme_manifest_command_writes_where_the_readme_says()
    {
        var readme = await File.ReadAllTextAsync(Path.Combine(PublishedManifest.RepositoryRoot, "README.md"), TestContext.Current.CancellationToken);
        Assert.Contains("./scripts/manifest", readme, StringComparison.Ordinal);
        Assert.Contains("artifacts/aspire-manifest.json", readme, StringComparison.Ordinal);
        var output = Path.Combine(PublishedManifest.RepositoryRoot, "artifacts", "aspire-manifest.json");
        File.Delete(output);

        var (exitCode, log) = await PublishedManifest.RunScriptAsync(null, "--no-build");

        Assert.True(exitCode == 0, log);
        Assert.True(File.Exists(output), log);
    }

    private static object Get(Dictionary<object, object> map, params string[] path) =>
        path.Aggregate<string, object>(map, (node, key) => ((Dictionary<object, object>)node)[key]);

    /// <summary>The secret parameters an expression uses, through connection strings too.</summary>
    private static IEnumerable<string> SecretParameters(JsonElement manifest, string expression)
    {
        foreach (Match reference in Reference().Matches(expression))
        {
            var resource = manifest.Resource(reference.Groups["resource"].Value);
            if (reference.Groups["property"].Value == "connectionString")
            {
                foreach (var parameter in SecretParameters(manifest, resource.GetProperty("connectionString").GetString()!))
                {
                    yield return parameter;
                }
            }
            else if (resource.GetProperty("type").GetString() == "parameter.v0"
                     && resource.GetProperty("inputs").GetProperty("value").TryGetProperty("secret", out var secret) && secret.GetBoolean())
            {
                yield return reference.Groups["resource"].Value;
            }
        }
    }

    [GeneratedRegex(@"\{(?<resource>[a-z0-9-]+)\.(?<property>value|connectionString)\}")]
    private static partial Regex Reference();
}
