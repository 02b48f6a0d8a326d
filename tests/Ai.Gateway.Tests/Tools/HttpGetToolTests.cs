using System.Text.Json;
using Ai.Gateway.Extensions;
using Ai.Gateway.Tools;
using Ai.Gateway.Tools.BuiltIn;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Ai.Gateway.Tests.Tools;

/// <summary>
/// http_get against a loopback server, wired as in the gateway (service defaults included, so the
/// app-wide resilience and service discovery handlers are in play unless the tool drops them).
/// </summary>
public sealed class HttpGetToolTests : IAsyncLifetime
{
    private LoopbackServer _server = null!;
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _server = await LoopbackServer.StartAsync();

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    [Fact]
    public async Task Fetches_from_an_explicitly_allowed_private_host()
    {
        var outcome = await GetAsync("/json");

        Assert.Equal(ToolInvocationStatus.Succeeded, outcome.Status);
        var result = outcome.Result;
        Assert.Equal(200, result.GetProperty("status").GetInt32());
        Assert.Equal("text", result.GetProperty("encoding").GetString());
        Assert.Equal("""{"ok":true}""", result.GetProperty("body").GetString());
        Assert.StartsWith("application/json", result.GetProperty("contentType").GetString(), StringComparison.Ordinal);
        Assert.False(result.GetProperty("truncated").GetBoolean());
        Assert.Equal(0, result.GetProperty("redirects").GetInt32());
    }

    [Fact]
    public async Task Refuses_a_host_that_is_not_on_the_allow_list()
    {
        var outcome = await GetAsync("/hello", settings: new() { ["Tools:HttpGet:AllowedPrivateHosts:0"] = "127.0.0.2" });

        Assert.Equal(ToolInvocationStatus.InvalidArguments, outcome.Status);
        var error = Assert.Single(outcome.Errors);
        Assert.Equal("/url", error.Path);
        Assert.Contains("not on the allow-list", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refuses_an_allowed_host_that_resolves_to_a_loopback_address()
    {
        var outcome = await GetAsync("/hello", settings: new() { ["Tools:HttpGet:AllowedHosts:0"] = $"127.0.0.1:{_server.Port}" }, allowLoopback: false);

        Assert.Equal(ToolInvocationStatus.InvalidArguments, outcome.Status);
        Assert.Contains("loopback or private address", Assert.Single(outcome.Errors).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ftp://127.0.0.1/file")]
    [InlineData("file:///etc/passwd")]
    [InlineData("http://user:secret@127.0.0.1/")]
    public async Task Refuses_other_schemes_and_credentials(string url)
    {
        var outcome = await InvokeAsync(url);

        Assert.Equal(ToolInvocationStatus.InvalidArguments, outcome.Status);
        Assert.Equal("/url", Assert.Single(outcome.Errors).Path);
    }

    [Fact]
    public async Task Follows_a_redirect_on_the_same_host()
    {
        var outcome = await GetAsync("/redirect/same");

        Assert.Equal(ToolInvocationStatus.Succeeded, outcome.Status);
        Assert.Equal("hello", outcome.Result.GetProperty("body").GetString());
        Assert.Equal(1, outcome.Result.GetProperty("redirects").GetInt32());
        Assert.Equal($"{_server.BaseUrl}/hello", outcome.Result.GetProperty("url").GetString());
    }

    [Theory]
    [InlineData("/redirect/localhost", "'localhost'")]
    [InlineData("/redirect/elsewhere", "'not-allowed.example'")]
    public async Task Refuses_a_redirect_to_a_host_that_is_not_allowed(string path, string host)
    {
        var outcome = await GetAsync(path);

        Assert.Equal(ToolInvocationStatus.Failed, outcome.Status);
        Assert.Equal($"Refused a redirect to {host}: the host is not on the allow-list.", outcome.Error);
    }

    [Fact]
    public async Task Stops_after_the_redirect_limit()
    {
        var outcome = await GetAsync("/redirect/loop", settings: new() { ["Tools:HttpGet:MaxRedirects"] = "2" });

        Assert.Equal(ToolInvocationStatus.Failed, outcome.Status);
        Assert.Equal("Too many redirects: the limit is 2.", outcome.Error);
    }

    [Fact]
    public async Task Cuts_a_body_longer_than_the_size_cap_and_says_so()
    {
        var outcome = await GetAsync("/big", settings: new() { ["Tools:HttpGet:MaxBytes"] = "1024" });

        Assert.Equal(ToolInvocationStatus.Succeeded, outcome.Status);
        Assert.True(outcome.Result.GetProperty("truncated").GetBoolean());
        Assert.Equal(1024, outcome.Result.GetProperty("bytes").GetInt32());
        Assert.Equal(new string('a', 1024), outcome.Result.GetProperty("body").GetString());
    }

    [Fact]
    public async Task A_body_exactly_at_the_size_cap_is_not_truncated()
    {
        var outcome = await GetAsync("/big", settings: new() { ["Tools:HttpGet:MaxBytes"] = $"{LoopbackServer.BigBodyBytes}" });

        Assert.False(outcome.Result.GetProperty("truncated").GetBoolean());
        Assert.Equal(LoopbackServer.BigBodyBytes, outcome.Result.GetProperty("bytes").GetInt32());
    }

    [Fact]
    public async Task Binary_bodies_come_back_as_base64()
    {
        var outcome = await GetAsync("/binary");

        Assert.Equal("base64", outcome.Result.GetProperty("encoding").GetString());
        Assert.Equal(Convert.ToBase64String([0, 1, 2, 255]), outcome.Result.GetProperty("body").GetString());
    }

    [Fact]
    public async Task Does_not_retry_behind_the_models_back()
    {
        var outcome = await GetAsync("/flaky");

        Assert.Equal(503, outcome.Result.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task Gives_up_at_the_time_cap()
    {
        var time = new FakeTimeProvider();
        var call = GetAsync("/stall", time: time);
        await _server.Stalled.Task.WaitAsync(TimeSpan.FromSeconds(10), Cancel);

        time.Advance(TimeSpan.FromSeconds(10));
        var outcome = await call.WaitAsync(TimeSpan.FromSeconds(10), Cancel);

        Assert.Equal(ToolInvocationStatus.Failed, outcome.Status);
        Assert.Equal("The request did not finish within 10 s.", outcome.Error);
    }

    [Fact]
    public async Task A_private_host_allowed_without_a_port_opens_only_ports_80_and_443()
    {
        var outcome = await GetAsync("/hello", settings: new() { ["Tools:HttpGet:AllowedPrivateHosts:0"] = "127.0.0.1" });

        Assert.Equal(ToolInvocationStatus.InvalidArguments, outcome.Status);
        Assert.Contains($"on port {_server.Port} is not on the allow-list", Assert.Single(outcome.Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_allowed_host_with_another_port_is_refused()
    {
        var outcome = await GetAsync("/hello", settings: new() { ["Tools:HttpGet:AllowedPrivateHosts:0"] = $"127.0.0.1:{(_server.Port == 65535 ? 1 : _server.Port + 1)}" });

        Assert.Equal(ToolInvocationStatus.InvalidArguments, outcome.Status);
        Assert.Contains("not on the allow-list", Assert.Single(outcome.Errors).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("64:ff9b::a00:1", true)]
    [InlineData("64:ff9b::808:808", true)]
    [InlineData("64:ff9b:1::a00:1", true)]
    [InlineData("2002:c0a8:101::1", true)]
    [InlineData("2001:db8::1", true)]
    [InlineData("192.0.2.1", true)]
    [InlineData("198.51.100.7", true)]
    [InlineData("203.0.113.9", true)]
    [InlineData("::ffff:10.0.0.1", true)]
    [InlineData("2606:4700:4700::1111", false)]
    [InlineData("8.8.8.8", false)]
    public void Translator_relay_and_documentation_ranges_are_not_public(string address, bool nonPublic) =>
        Assert.Equal(nonPublic, HostAllowList.IsNonPublic(System.Net.IPAddress.Parse(address)));

    [Fact]
    public async Task A_refused_connection_is_a_failure_that_names_no_address()
    {
        var closedPort = _server.Port;
        await _server.DisposeAsync();
        _server = await LoopbackServer.StartAsync();

        var outcome = await InvokeAsync($"http://127.0.0.1:{closedPort}/hello");

        Assert.Equal(ToolInvocationStatus.Failed, outcome.Status);
        Assert.Equal("The request to '127.0.0.1' failed: ConnectionError.", outcome.Error);
    }

    [Theory]
    [InlineData("Tools:HttpGet:AllowedHosts:0", "https://example.com", "is not a host name")]
    [InlineData("Tools:HttpGet:AllowedPrivateHosts:0", "10.0.0.1:99999", "is not a host name")]
    [InlineData("Tools:HttpGet:AllowedHosts:0", "example.com/path", "is not a host name")]
    [InlineData("Tools:HttpGet:MaxBytes", "0", "MaxBytes")]
    [InlineData("Tools:HttpGet:MaxRedirects", "50", "MaxRedirects")]
    public void Misconfiguration_is_refused_with_a_message_that_names_the_setting(string key, string value, string expected)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing", DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [key] = value });
        builder.AddToolRuntime();
        using var host = builder.Build();

        var error = Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<IOptions<HttpGetToolOptions>>().Value);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    private Task<ToolInvocationResult> GetAsync(string path, Dictionary<string, string?>? settings = null, bool allowLoopback = true, TimeProvider? time = null) =>
        InvokeAsync(_server.BaseUrl + path, settings, allowLoopback, time);

    private static async Task<ToolInvocationResult> InvokeAsync(string url, Dictionary<string, string?>? settings = null, bool allowLoopback = true, TimeProvider? time = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing", DisableDefaults = true });
        var defaults = new Dictionary<string, string?> { ["Tools:HttpGet:AllowedHosts:0"] = "example.com" };
        if (allowLoopback)
        {
            // A private host is allowed with its port: a bare host would mean ports 80 and 443 only.
            defaults["Tools:HttpGet:AllowedPrivateHosts:0"] = $"127.0.0.1:{Math.Max(new Uri(url).Port, 1)}";
        }

        builder.Configuration.AddInMemoryCollection(defaults);
        builder.Configuration.AddInMemoryCollection(settings ?? []);
        if (time is not null)
        {
            builder.Services.AddSingleton(time);
        }

        builder.AddServiceDefaults();
        builder.AddToolRuntime();
        using var host = builder.Build();

        var arguments = JsonSerializer.SerializeToElement(new { url });
        return await host.Services.GetRequiredService<ToolRuntime>().InvokeAsync("http_get", arguments, Cancel);
    }
}
