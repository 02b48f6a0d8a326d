namespace AppHost.Tests.Deploy;

#pragma warning disable ASPIREPROBES001 // Aspire's probe annotations are experimental.
#pragma warning disable CS0618 // GetArgumentValuesAsync: its replacement needs a started app's services.

/// <summary>The app model of a local run, built but not started (no container runtime needed).</summary>
public sealed class AppModelTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<IDistributedApplicationTestingBuilder> ModelAsync(params string[] args) =>
        await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(args, Ct);

    [Fact]
    public async Task The_local_container_mode_keeps_its_data_like_the_published_one()
    {
        await using var builder = await ModelAsync("--Redis:Mode", "container");

        var redis = builder.Resources.OfType<RedisResource>().Single();
        Assert.True(redis.TryGetContainerMounts(out var mounts));
        var volume = Assert.Single(mounts);
        Assert.Equal(("redis-data", "/data", ContainerMountType.Volume), (volume.Source, volume.Target, volume.Type));
        var args = await redis.GetArgumentValuesAsync();
        Assert.Contains("--appendonly yes", string.Join(' ', args), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_local_executable_keeps_an_append_only_file_in_its_data_directory()
    {
        var directory = Directory.CreateTempSubdirectory("apphost-model-").FullName;
        await using var builder = await ModelAsync("--Redis:Mode", "executable", "--Redis:DataDirectory", directory);

        var redis = builder.Resources.OfType<ExecutableResource>().Single(r => r.Name == "redis");
        // The port is allocated only when the app starts: read the literal arguments.
        var context = new CommandLineArgsCallbackContext([], redis, Ct);
        foreach (var callback in redis.Annotations.OfType<CommandLineArgsCallbackAnnotation>())
        {
            await callback.Callback(context);
        }

        var args = string.Join(' ', context.Args.OfType<string>());
        Assert.Contains("--appendonly yes", args, StringComparison.Ordinal);
        Assert.Contains($"--dir {directory}", args, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_gemini_key_parameter_exists_and_resolves_without_being_set()
    {
        await using var builder = await ModelAsync("--Redis:Mode", "executable");

        var gemini = builder.Resources.OfType<ParameterResource>().Single(p => p.Name == "gemini-api-key");
        Assert.True(gemini.Secret);
        Assert.NotNull(await gemini.GetValueAsync(Ct));
    }

    [Theory]
    [InlineData("orchestration-api")]
    [InlineData("ai-gateway")]
    [InlineData("console")]
    public async Task Each_service_declares_the_probes_its_azd_template_carries(string name)
    {
        await using var builder = await ModelAsync("--Redis:Mode", "executable");

        var probes = builder.Resources.Single(r => r.Name == name).Annotations.OfType<EndpointProbeAnnotation>()
            .ToDictionary(p => p.Type, p => p.Path);
        Assert.Equal("/alive", probes[ProbeType.Liveness]);
        Assert.Equal("/health/ready", probes[ProbeType.Readiness]);
        Assert.All(builder.Resources.Single(r => r.Name == name).Annotations.OfType<EndpointAnnotation>().Where(e => e.UriScheme.StartsWith("http", StringComparison.Ordinal)),
            e => Assert.True(e.IsExternal));
    }
}
