using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace Ai.Gateway.Tools.BuiltIn;

internal static class SchemaJson
{
    public static JsonElement Parse([StringSyntax(StringSyntaxAttribute.Json)] string json) =>
        JsonDocument.Parse(json).RootElement.Clone();
}
