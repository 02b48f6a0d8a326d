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
