using System.Collections.Concurrent;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Compares a parsed body with the contract type's serialization metadata before it is bound, so each kind of
/// mistake is found as what it is (not by reading an exception's message): fields the contract does not have,
/// <c>null</c> where the contract's nullable annotations say no (properties and items of lists and dictionaries),
/// and two keys that bind to one property (they differ only in case where names are case-insensitive).
/// Wrong value types are left to the serializer, whose <see cref="JsonException.Path"/> names the field.
/// </summary>
internal static class JsonBodyShape
{
    private static readonly NullabilityInfoContext Nullability = new();
    private static readonly Lock NullabilityLock = new();
    private static readonly ConcurrentDictionary<JsonPropertyInfo, NullabilityInfo?> PropertyNullability = new();

    public static void Check(JsonElement body, JsonTypeInfo contract, JsonBodyErrors errors) =>
        Check(body, contract, nullability: null, new StringBuilder(), errors);

    private static void Check(JsonElement value, JsonTypeInfo contract, NullabilityInfo? nullability, StringBuilder path, JsonBodyErrors errors)
    {
        if (errors.IsFull)
        {
            return;
        }

        var options = contract.Options;
        if (Nullable.GetUnderlyingType(contract.Type) is { } underlying)
        {
            contract = options.GetTypeInfo(underlying);
        }

        switch (contract.Kind)
        {
            case JsonTypeInfoKind.Object when value.ValueKind == JsonValueKind.Object:
                CheckObject(value, contract, path, errors);
                break;

            case JsonTypeInfoKind.Enumerable when value.ValueKind == JsonValueKind.Array && contract.ElementType is { } itemType:
                var itemNullability = ItemNullability(nullability);
                var index = 0;
                foreach (var item in value.EnumerateArray())
                {
                    var length = path.Length;
                    path.Append('[').Append(index.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append(']');
                    CheckItem(item, options.GetTypeInfo(itemType), itemNullability, path, errors);
                    path.Length = length;
                    index++;
                }

                break;

            case JsonTypeInfoKind.Dictionary when value.ValueKind == JsonValueKind.Object && contract.ElementType is { } valueType:
                var valueNullability = ItemNullability(nullability);
                foreach (var entry in value.EnumerateObject())
                {
                    var length = path.Length;
                    JsonPathBuilder.AppendProperty(path, entry.Name);
                    CheckItem(entry.Value, options.GetTypeInfo(valueType), valueNullability, path, errors);
                    path.Length = length;
                }

                break;

            default:
                // Primitives, free-form values (JsonElement, object) and types with their own converters:
                // the serializer checks them, and the scanner has already checked every string in them.
                break;
        }
    }

    private static void CheckObject(JsonElement value, JsonTypeInfo contract, StringBuilder path, JsonBodyErrors errors)
    {
        var options = contract.Options;
        var comparer = options.PropertyNameCaseInsensitive ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;
        var properties = new Dictionary<string, JsonPropertyInfo>(comparer);
        var openEnded = false;
        foreach (var property in contract.Properties)
        {
            openEnded |= property.IsExtensionData;
            properties.TryAdd(property.Name, property);
        }

        var seen = new HashSet<JsonPropertyInfo>();
        foreach (var field in value.EnumerateObject())
        {
            var length = path.Length;
            JsonPathBuilder.AppendProperty(path, field.Name);
            if (!properties.TryGetValue(field.Name, out var property) || property.IsExtensionData)
            {
                if (!openEnded)
                {
                    errors.Add(Text(path), "This field is not part of the contract.");
                }
            }
            else if (!seen.Add(property))
            {
                errors.Add(Text(path), $"This key names '{property.Name}' again (names are not case-sensitive); send each key once.");
            }
            else if (field.Value.ValueKind == JsonValueKind.Null)
            {
                if (!(property.AssociatedParameter is { } parameter ? parameter.IsNullable : property.IsSetNullable))
                {
                    errors.Add(Text(path), "This field may not be null.");
                }
            }
            else
            {
                Check(field.Value, options.GetTypeInfo(property.PropertyType), NullabilityOf(property), path, errors);
            }

            path.Length = length;
        }
    }

    private static void CheckItem(JsonElement item, JsonTypeInfo contract, NullabilityInfo? nullability, StringBuilder path, JsonBodyErrors errors)
    {
        if (item.ValueKind == JsonValueKind.Null)
        {
            var allowsNull = contract.Type.IsValueType
                ? Nullable.GetUnderlyingType(contract.Type) is not null
                : nullability is null || nullability.ReadState != NullabilityState.NotNull;
            if (!allowsNull)
            {
                errors.Add(Text(path), "This item may not be null.");
            }

            return;
        }

        Check(item, contract, nullability, path, errors);
    }

    /// <summary>The annotations of a list's items (<c>T[]</c>, <c>List&lt;T&gt;</c>) or a dictionary's values.</summary>
    private static NullabilityInfo? ItemNullability(NullabilityInfo? collection) =>
        collection is null ? null
        : collection.ElementType ?? (collection.GenericTypeArguments.Length > 0 ? collection.GenericTypeArguments[^1] : null);

    private static NullabilityInfo? NullabilityOf(JsonPropertyInfo property) =>
        PropertyNullability.GetOrAdd(property, static p =>
        {
            lock (NullabilityLock)
            {
                return p.AttributeProvider switch
                {
                    PropertyInfo member => Nullability.Create(member),
                    FieldInfo member => Nullability.Create(member),
                    _ => null,
                };
            }
        });

    private static string Text(StringBuilder path) => path.Length == 0 ? "$" : path.ToString();
}
