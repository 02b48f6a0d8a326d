using AppHost;

namespace AppHost.Tests;

public sealed class RedisModeSelectorTests
{
    private sealed class FakeMachine(bool containerRuntime, string? redisServer) : IRedisEnvironment
    {
        public int Probes { get; private set; }

        public bool ContainerRuntimeAnswers()
        {
            Probes++;
            return containerRuntime;
        }

        public string? FindRedisServer()
        {
            Probes++;
            return redisServer;
        }
    }

    [Theory]
    [InlineData(null, RedisMode.Auto)]
    [InlineData("", RedisMode.Auto)]
    [InlineData("auto", RedisMode.Auto)]
    [InlineData("Container", RedisMode.Container)]
    [InlineData("executable", RedisMode.Executable)]
    [InlineData("connectionString", RedisMode.ConnectionString)]
    [InlineData("CONNECTIONSTRING", RedisMode.ConnectionString)]
    public void Parse_accepts_the_documented_modes(string? value, RedisMode expected) =>
        Assert.Equal(expected, RedisModeSelector.Parse(value));

    [Theory]
    [InlineData("docker")]
    [InlineData("7")]
    public void Parse_rejects_anything_else_with_the_valid_choices(string value)
    {
        var error = Assert.Throws<RedisSetupException>(() => RedisModeSelector.Parse(value));

        Assert.Contains("auto, container, executable or connectionString", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(RedisMode.Auto)]
    [InlineData(RedisMode.Executable)]
    [InlineData(RedisMode.Container)]
    public void Publishing_uses_the_container_unless_a_connection_string_is_asked_for(RedisMode configured) =>
        Assert.Equal(RedisMode.Container, RedisModeSelector.Choose(configured, isPublishMode: true, new FakeMachine(false, null)));

    [Fact]
    public void Publishing_a_connection_string_gives_a_managed_redis() =>
        Assert.Equal(RedisMode.ConnectionString, RedisModeSelector.Choose(RedisMode.ConnectionString, isPublishMode: true, new FakeMachine(false, null)));

    [Theory]
    [InlineData(RedisMode.Container)]
    [InlineData(RedisMode.Executable)]
    [InlineData(RedisMode.ConnectionString)]
    public void An_explicit_mode_is_used_without_probing(RedisMode configured)
    {
        var machine = new FakeMachine(false, null);

        Assert.Equal(configured, RedisModeSelector.Choose(configured, isPublishMode: false, machine));
        Assert.Equal(0, machine.Probes);
    }

    [Fact]
    public void Auto_prefers_a_container_runtime_that_answers() =>
        Assert.Equal(RedisMode.Container, RedisModeSelector.Choose(RedisMode.Auto, false, new FakeMachine(true, "/usr/bin/redis-server")));

    [Fact]
    public void Auto_uses_the_local_redis_server_when_no_runtime_answers() =>
        Assert.Equal(RedisMode.Executable, RedisModeSelector.Choose(RedisMode.Auto, false, new FakeMachine(false, "/usr/bin/redis-server")));

    [Fact]
    public void Auto_with_neither_stops_with_install_advice()
    {
        var error = Assert.Throws<RedisSetupException>(() =>
            RedisModeSelector.Choose(RedisMode.Auto, false, new FakeMachine(false, null)));

        Assert.Contains("apt-get install -y redis-server", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_machine_probe_does_not_find_a_missing_runtime()
    {
        var machine = new MachineRedisEnvironment("no-such-container-runtime", "no-such-redis-server");

        Assert.False(machine.ContainerRuntimeAnswers());
        Assert.Null(machine.FindRedisServer());
    }
}
