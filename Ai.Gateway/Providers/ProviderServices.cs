using Microsoft.Extensions.AI;

namespace Ai.Gateway.Providers;

internal static class ProviderServices
{
    /// <summary>
    /// <see cref="IChatClient.GetService"/> / <see cref="IEmbeddingGenerator.GetService"/> of a provider client: its
    /// metadata, or the client itself for the types it is; nothing for a keyed request.
    /// </summary>
    public static object? Get<TMetadata>(object client, TMetadata metadata, Type serviceType, object? serviceKey)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(TMetadata) ? metadata
            : serviceType.IsInstanceOfType(client) ? client
            : null;
    }
}
