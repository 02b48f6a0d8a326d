using Ai.Gateway.Policy;
using Microsoft.Extensions.Options;
using TestSupport;

namespace Ai.Gateway.Tests.Policy;

/// <summary>The policy's rules across fields, as Microsoft.Extensions.Http.Resilience checks its standard pipeline.</summary>
public sealed class GatewayPolicyOptionsValidatorTests(RedisFixture redis)
{
    private static ValidateOptionsResult Validate(GatewayPolicyOptions options) => new GatewayPolicyOptionsValidator().Validate(null, options);

    [Fact]
    public void The_defaults_let_the_breaker_see_a_hanging_model_and_fit_the_retries_in_the_total_timeout()
    {
        var defaults = new GatewayPolicyOptions();

        Assert.True(defaults.BreakerSamplingDuration >= 2 * defaults.AttemptTimeout,
            $"sampling {defaults.BreakerSamplingDuration} < 2 × attempt {defaults.AttemptTimeout}: a model that hangs never opens its circuit");
        var result = Validate(defaults);
        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Fact]
    public void A_sampling_window_shorter_than_two_attempt_timeouts_is_refused_naming_both_keys()
    {
        var result = Validate(new GatewayPolicyOptions { AttemptTimeout = TimeSpan.FromSeconds(90), BreakerSamplingDuration = TimeSpan.FromSeconds(30) });

        var failure = Assert.Single(result.Failures!);
        Assert.Contains("Gateway:Policy:BreakerSamplingDuration", failure, StringComparison.Ordinal);
        Assert.Contains("Gateway:Policy:AttemptTimeout", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Retries_that_cannot_fit_in_the_total_timeout_are_refused_naming_the_keys()
    {
        var result = Validate(new GatewayPolicyOptions
        {
            AttemptTimeout = TimeSpan.FromSeconds(60),
            BreakerSamplingDuration = TimeSpan.FromSeconds(120),
            MaxRetries = 4,
            TotalTimeout = TimeSpan.FromSeconds(200),
        });

        var failure = Assert.Single(result.Failures!);
        Assert.Contains("Gateway:Policy:MaxRetries", failure, StringComparison.Ordinal);
        Assert.Contains("Gateway:Policy:TotalTimeout", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void An_attempt_longer_than_the_whole_request_is_refused()
    {
        var result = Validate(new GatewayPolicyOptions { AttemptTimeout = TimeSpan.FromMinutes(10), TotalTimeout = TimeSpan.FromMinutes(5), BreakerSamplingDuration = TimeSpan.FromMinutes(20) });

        Assert.Contains(result.Failures!, f => f.Contains("Gateway:Policy:AttemptTimeout", StringComparison.Ordinal)
            && f.Contains("Gateway:Policy:TotalTimeout", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_gateway_does_not_start_with_a_breaker_blind_to_hanging_models()
    {
        await using var factory = new ServiceFactory<Program>(redis.ConnectionString, new Dictionary<string, string?>
        {
            ["Gateway:Policy:AttemptTimeout"] = "00:01:30",
            ["Gateway:Policy:BreakerSamplingDuration"] = "00:00:30",
            ["HostedAgents:Enabled"] = "false",
        });

        var failure = Assert.Throws<OptionsValidationException>(() => factory.CreateClient());

        Assert.Contains("Gateway:Policy:BreakerSamplingDuration", failure.Message, StringComparison.Ordinal);
    }
}
