using Ai.Gateway.Mcp;
using Microsoft.Extensions.Options;
using TestSupport;

namespace Ai.Gateway.Tests.Mcp;

public sealed class McpMountOptionsValidatorTests(RedisFixture redis)
{
    private static McpMountedServerOptions Server(string url = "http://127.0.0.1:5000/mcp", params string[] allowed) =>
        new() { Url = url, AllowedTools = allowed.Length > 0 ? [.. allowed] : ["search"] };

    private static ValidateOptionsResult Validate(params (string Name, McpMountedServerOptions Server)[] servers)
    {
        var options = new McpMountOptions();
        foreach (var (name, server) in servers)
        {
            options.Servers[name] = server;
        }

        return new McpMountOptionsValidator().Validate(null, options);
    }

    [Fact]
    public void A_well_formed_server_and_no_servers_at_all_are_valid()
    {
        var server = Server("https://tools.example.com/mcp", "*");
        server.Headers["X-Tenant"] = "t1";
        server.ApiKey = "abc123";

        Assert.True(Validate(("docs_v2", server)).Succeeded);
        Assert.True(Validate().Succeeded);
    }

    [Theory]
    [InlineData("Docs")]
    [InlineData("docs-server")]
    [InlineData("docs__x")]
    [InlineData("1docs")]
    [InlineData("docs_")]
    public void A_server_name_outside_the_charset_is_refused(string name)
    {
        var result = Validate((name, Server()));

        Assert.True(result.Failed);
        Assert.Contains($"Gateway:Mcp:Servers:{name}: a server name is", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("tools.example.com/mcp")]
    [InlineData("ftp://tools.example.com/mcp")]
    [InlineData("http://user:secret@tools.example.com/mcp")]
    public void A_url_that_is_not_an_absolute_http_url_without_credentials_is_refused(string? url)
    {
        var result = Validate(("docs", Server(url!)));

        Assert.True(result.Failed);
        Assert.Contains("Gateway:Mcp:Servers:docs:Url", result.FailureMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("user:secret", result.FailureMessage, StringComparison.Ordinal); // never echo credentials
    }

    [Fact]
    public void AllowedTools_is_required_and_a_star_must_stand_alone()
    {
        var none = Server();
        none.AllowedTools.Clear();

        Assert.Contains("AllowedTools is required", Validate(("docs", none)).FailureMessage, StringComparison.Ordinal);
        Assert.Contains("must be the only entry", Validate(("docs", Server(allowed: ["*", "search"]))).FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Headers_the_gateway_sets_limits_out_of_range_and_a_bad_header_name_are_refused()
    {
        var server = Server();
        server.ApiKey = "key";
        server.Headers["Authorization"] = "Basic x";
        server.Headers["Mcp-Session-Id"] = "s";
        server.Headers["Bad Header"] = "v";
        server.TimeoutSeconds = 0;
        server.RefreshSeconds = 0.5;
        server.MaxResultBytes = 10;

        var message = Validate(("docs", server)).FailureMessage;

        Assert.Contains("Headers:Authorization is set by the gateway from ApiKey", message, StringComparison.Ordinal);
        Assert.Contains("Headers:Mcp-Session-Id is set by the gateway", message, StringComparison.Ordinal);
        Assert.Contains("'Bad Header' is not an HTTP header name", message, StringComparison.Ordinal);
        Assert.Contains("TimeoutSeconds", message, StringComparison.Ordinal);
        Assert.Contains("RefreshSeconds", message, StringComparison.Ordinal);
        Assert.Contains("MaxResultBytes", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_gateway_does_not_start_with_a_bad_server_and_says_which_key()
    {
        await using var factory = new ServiceFactory<Program>(redis.ConnectionString, new Dictionary<string, string?>
        {
            ["HostedAgents:Enabled"] = "false",
            ["Gateway:Mcp:Servers:docs:Url"] = "not a url",
            ["Gateway:Mcp:Servers:docs:AllowedTools:0"] = "search",
        });

        var failure = Assert.Throws<OptionsValidationException>(() => factory.CreateClient());

        Assert.Contains("Gateway:Mcp:Servers:docs:Url", failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("search", "docs__search")]
    [InlineData("Get-Weather", "docs__get_weather")]
    [InlineData("files.read", "docs__files_read")]
    public void Remote_tool_names_are_lower_cased_with_other_characters_as_underscores(string remote, string mounted)
    {
        Assert.True(McpToolNames.TryMount("docs", remote, out var name, out _));
        Assert.Equal(mounted, name);
    }

    [Theory]
    [InlineData("_private")]
    [InlineData("9lives")]
    [InlineData("")]
    public void A_remote_name_that_cannot_become_a_gateway_name_is_refused(string remote)
    {
        Assert.False(McpToolNames.TryMount("docs", remote, out _, out var problem));
        Assert.False(string.IsNullOrEmpty(problem));
        Assert.False(McpToolNames.TryMount("docs", new string('a', 60), out _, out _));
    }
}
