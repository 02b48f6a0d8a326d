using System.Diagnostics.Metrics;
using Communication.Bus.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Microsoft.Extensions.Hosting;

/// <summary>Registers the distributed token bucket of the communication bus.</summary>
public static class DistributedRateLimitingExtensions
{
    /// <summary>
    /// Registers <see cref="IDistributedTokenBucket"/> (a singleton <see cref="DistributedTokenBucket"/>)
    /// with <see cref="TokenBucketOptions"/> bound from the <c>Bus:RateLimiting</c> configuration
    /// section and validated at start-up. Uses the registered <see cref="IConnectionMultiplexer"/>
    /// (from <c>AddCommunicationBus</c> or <c>AddRedisClient</c>), the registered
    /// <see cref="TimeProvider"/> (<see cref="TimeProvider.System"/> if none), <see cref="IMeterFactory"/>
    /// and logging. Calling it again only adds <paramref name="configure"/>.
    /// </summary>
    /// <param name="builder">The host application builder.</param>
    /// <param name="configure">Optional changes to the options after binding.</param>
    /// <returns>The builder.</returns>
    public static IHostApplicationBuilder AddDistributedRateLimiting(
        this IHostApplicationBuilder builder,
        Action<TokenBucketOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);

        var options = builder.Services.AddOptions<TokenBucketOptions>().BindConfiguration(TokenBucketOptions.SectionName);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TokenBucketOptions>, TokenBucketOptionsValidator>());
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton(static services => new DistributedTokenBucket(
            services.GetRequiredService<IConnectionMultiplexer>(),
            services.GetRequiredService<IOptions<TokenBucketOptions>>().Value,
            services.GetRequiredService<TimeProvider>(),
            services.GetService<IMeterFactory>(),
            services.GetService<ILogger<DistributedTokenBucket>>()));
        builder.Services.TryAddSingleton<IDistributedTokenBucket>(static services => services.GetRequiredService<DistributedTokenBucket>());
        return builder;
    }
}
