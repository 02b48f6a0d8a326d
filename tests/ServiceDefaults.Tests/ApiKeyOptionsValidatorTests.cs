using Microsoft.Extensions.Hosting;

namespace ServiceDefaults.Tests;

public sealed class ApiKeyOptionsValidatorTests
{
    private static ApiKeyOptions Keys(params (string Name, string Key)[] keys) =>
        new() { ApiKeys = keys.ToDictionary(k => k.Name, k => k.Key) };

    [Fact]
    public void No_key_at_all_is_rejected_with_the_setting_to_fill_in()
    {
        var result = new ApiKeyOptionsValidator().Validate(null, Keys());

        Assert.True(result.Failed);
        Assert.Contains("Auth__ApiKeys__client", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Only_empty_keys_count_as_no_key() =>
        Assert.True(new ApiKeyOptionsValidator().Validate(null, Keys(("client", ""))).Failed);

    [Fact]
    public void A_short_key_is_rejected_by_name()
    {
        var result = new ApiKeyOptionsValidator().Validate(null, Keys(("client", "0123456789abcdef"), ("weak", "short")));

        Assert.True(result.Failed);
        Assert.Contains("weak", result.FailureMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("client", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Long_enough_keys_are_valid() =>
        Assert.True(new ApiKeyOptionsValidator().Validate(null, Keys(("client", "0123456789abcdef"))).Succeeded);
}

public sealed class ApiRoleOptionsTests
{
    private static ApiKeyOptions Options(params (string Caller, string Roles)[] roles) => new()
    {
        ApiKeys = new() { ["client"] = "0123456789abcdef", ["gateway"] = "fedcba9876543210" },
        Roles = roles.ToDictionary(r => r.Caller, r => r.Roles),
    };

    [Fact]
    public void An_unknown_role_fails_start_up_naming_the_key()
    {
        var result = new ApiKeyOptionsValidator().Validate(null, Options(("gateway", "agent, superuser")));

        Assert.True(result.Failed);
        Assert.Contains("Auth:Roles:gateway", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("'superuser'", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Roles_for_a_caller_without_a_key_fail_start_up() =>
        Assert.Contains("Auth:Roles:typo", new ApiKeyOptionsValidator().Validate(null, Options(("typo", "admin"))).FailureMessage, StringComparison.Ordinal);

    [Fact]
    public void Known_roles_in_any_case_and_spacing_are_valid() =>
        Assert.True(new ApiKeyOptionsValidator().Validate(null, Options(("client", " Client , ADMIN"), ("gateway", "agent"))).Succeeded);

    [Fact]
    public void A_key_without_roles_is_a_client_and_admin_implies_every_role()
    {
        var options = Options(("gateway", "agent"), ("client", "admin"));

        Assert.Equal([ApiRoles.Client], new ApiKeyOptions { ApiKeys = options.ApiKeys }.RolesOf("client"));
        Assert.Equal([ApiRoles.Agent], options.RolesOf("gateway"));
        Assert.Equal(ApiRoles.All, options.RolesOf("client"));
    }
}
