using System.Text.Json.Nodes;
using Ai.Gateway.Providers.OpenAI;

namespace Ai.Gateway.Tests.Fakes;

/// <summary>
/// A fake OpenAI-compatible endpoint on loopback (<c>POST /v1/chat/completions</c>, JSON and SSE),
/// answered from a script (see <see cref="OpenAIReplies"/>).
/// </summary>
public sealed class FakeOpenAIServer : ScriptedServer
{
    public const string ApiKey = "fake-openai-key-0123456789";

    private FakeOpenAIServer()
    {
        DefaultReply = OpenAIReplies.Completion("fake openai reply");
    }

    public static async Task<FakeOpenAIServer> StartNewAsync()
    {
        var server = new FakeOpenAIServer();
        await server.StartAsync();
        return server;
    }

    /// <summary>The endpoint to configure as <c>OpenAI:Endpoint</c> (the server's <c>/v1/</c>).</summary>
    public Uri Endpoint => new(BaseAddress, "v1/");

    public OpenAIOptions Options(TimeSpan? requestTimeout = null) => new()
    {
        ApiKey = ApiKey,
        Endpoint = Endpoint,
        RequestTimeout = requestTimeout ?? TimeSpan.FromSeconds(30),
    };

    public OpenAICompatibleChatClient CreateClient(string model = "gpt-test", TimeSpan? requestTimeout = null) =>
        new(new HttpClient(), Options(requestTimeout), model);

    protected override string? ModelOf(string path, JsonNode? body) =>
        body is JsonObject o && o["model"] is JsonValue v && v.TryGetValue<string>(out var model) ? model : null;
}
