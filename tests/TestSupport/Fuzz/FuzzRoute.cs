using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;

namespace TestSupport.Fuzz;

/// <summary>One method of one route of a running app, as its <see cref="EndpointDataSource"/> lists it.</summary>
public sealed record FuzzRoute(string Method, RoutePattern Pattern, IReadOnlyList<string> QueryNames, bool DeclaresBody)
{
    private static readonly HashSet<Type> SimpleTypes =
    [
        typeof(string), typeof(bool), typeof(int), typeof(long), typeof(short), typeof(byte), typeof(uint), typeof(ulong),
        typeof(float), typeof(double), typeof(decimal), typeof(Guid), typeof(DateTime), typeof(DateTimeOffset), typeof(TimeSpan),
    ];

    public string Template => "/" + (Pattern.RawText ?? "").TrimStart('/');

    public IEnumerable<RoutePatternParameterPart> Parameters => Pattern.Parameters;

    /// <summary>Whether a request to it normally carries a body (a declared one, or POST/PUT/PATCH).</summary>
    public bool TakesBody => DeclaresBody || Method is "POST" or "PUT" or "PATCH";

    /// <summary>The key of its seed bodies: <c>"POST /api/agents"</c>.</summary>
    public string Key => $"{Method} {Template}";

    public override string ToString() => Key;

    /// <summary>
    /// Every route of the app behind <paramref name="services"/> (one entry per HTTP method; routes without a method
    /// such as the health checks count as GET), with the query parameters its handler binds.
    /// </summary>
    public static IReadOnlyList<FuzzRoute> Discover(IServiceProvider services) =>
        [.. services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .SelectMany(endpoint => (endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods is { Count: > 0 } methods ? methods : ["GET"])
                .Select(method => new FuzzRoute(method, endpoint.RoutePattern, QueryNamesOf(endpoint), endpoint.Metadata.GetMetadata<IAcceptsMetadata>() is not null)))
            .DistinctBy(r => r.Key)
            .OrderBy(r => r.Key, StringComparer.Ordinal)];

    private static List<string> QueryNamesOf(RouteEndpoint endpoint)
    {
        var routeNames = endpoint.RoutePattern.Parameters.Select(p => p.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        return [.. endpoint.Metadata.GetOrderedMetadata<IParameterBindingMetadata>()
            .Where(p => !routeNames.Contains(p.Name) && IsSimple(p))
            .Select(p => p.Name)
            .Distinct(StringComparer.Ordinal)];
    }

    private static bool IsSimple(IParameterBindingMetadata parameter)
    {
        var type = Nullable.GetUnderlyingType(parameter.ParameterInfo.ParameterType) ?? parameter.ParameterInfo.ParameterType;
        return SimpleTypes.Contains(type) || type.IsEnum;
    }
}
