namespace TestSupport;

/// <summary>The API key and bus signing key every test host uses, so a test's own bus clients (fake agents) can talk to it.</summary>
public static class TestSecrets
{
    public const string ApiKey = "test-api-key-0123456789abcdef";

    public const string SigningKeyId = "test";

    public const string SigningSecret = "test-signing-secret-0123456789abcdefghijklmnop";

    /// <summary>The settings a service needs to run against <paramref name="redisConnectionString"/> with these secrets.</summary>
    public static Dictionary<string, string?> ServiceSettings(string redisConnectionString) => new(StringComparer.OrdinalIgnoreCase)
    {
        ["ConnectionStrings:redis"] = redisConnectionString,
        ["Auth:ApiKeys:client"] = ApiKey,
        // As the AppHost's local client key: client and admin (admin implies agent, so tests can register agents).
        ["Auth:Roles:client"] = "client,admin",
        ["Bus:Signing:Keys:0:Id"] = SigningKeyId,
        ["Bus:Signing:Keys:0:Secret"] = SigningSecret,
    };
}
