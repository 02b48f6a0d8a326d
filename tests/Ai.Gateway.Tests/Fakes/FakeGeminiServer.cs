using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Ai.Gateway.Providers.Gemini;

namespace Ai.Gateway.Tests.Fakes;

/// <summary>
/// A fake Gemini API on loopback: <c>POST /v1beta/models/{model}:generateContent</c> and
/// <c>:streamGenerateContent?alt=sse</c>, answered from a script (see <see cref="GeminiReplies"/>).
/// Point <see cref="GeminiOptions.Endpoint"/> at <see cref="ScriptedServer.BaseAddress"/>, or use <see cref="Options"/>.
/// </summary>
public sealed partial class FakeGeminiServer : ScriptedServer
{
    public const string ApiKey = "fake-gemini-key-0123456789";

    private FakeGeminiServer()
    {
        DefaultReply = GeminiReplies.Text("fake gemini reply");
    }

    public static async Task<FakeGeminiServer> StartNewAsync()
    {
        var server = new FakeGeminiServer();
        await server.StartAsync();
        return server;
    }

    /// <summary>Options that point the Gemini client at this server with its key.</summary>
    public GeminiOptions Options(TimeSpan? requestTimeout = null) => new()
    {
        ApiKey = ApiKey,
        Endpoint = BaseAddress,
        RequestTimeout = requestTimeout ?? TimeSpan.FromSeconds(30),
    };

    /// <summary>A Gemini client for <paramref name="model"/> talking to this server over a plain HttpClient.</summary>
    public GeminiChatClient CreateClient(string model = "gemini-test", TimeSpan? requestTimeout = null, TimeProvider? timeProvider = null) =>
        new(new HttpClient(), Options(requestTimeout), model, timeProvider);

    protected override string? ModelOf(string path, JsonNode? body) =>
        ModelPath().Match(path) is { Success: true } match ? match.Groups[1].Value : null;

    [GeneratedRegex("/models/([^/:]+):")]
    private static partial Regex ModelPath();
}
