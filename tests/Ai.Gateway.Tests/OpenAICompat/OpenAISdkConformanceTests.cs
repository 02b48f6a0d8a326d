using System.ClientModel;
using Ai.Gateway.Tests.Fakes;
using Ai.Gateway.Tests.Policy;

namespace Ai.Gateway.Tests.OpenAICompat;

/// <summary>
/// The official OpenAI .NET SDK driving the gateway through what an OpenAI client does: list and retrieve models,
/// and the errors it must be able to read.
/// </summary>
public sealed class OpenAISdkConformanceTests(RedisFixture redis) : IAsyncLifetime
{
    private FakeGeminiServer _gemini = null!;
    private PolicyGateway _gateway = null!;

    public async ValueTask InitializeAsync()
    {
        _gemini = await FakeGeminiServer.StartNewAsync();
        _gateway = await PolicyGateway.StartAsync(redis, _gemini, [new TestModel("main"), new TestModel("local", Provider: "offline")]);
    }

    public async ValueTask DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _gemini.DisposeAsync();
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Id(string name) => _gateway.Id(name);

    [Fact]
    public async Task Models_list_and_retrieve_work_with_the_sdk()
    {
        var models = OpenAISdk.Client(_gateway).GetOpenAIModelClient();

        var list = (await models.GetModelsAsync(Ct)).Value;
        var one = (await models.GetModelAsync(Id("local"), Ct)).Value;

        Assert.Contains(Id("local"), list.Select(m => m.Id));
        Assert.Contains(Id("main"), list.Select(m => m.Id));
        Assert.Equal("gemini", list.Single(m => m.Id == Id("main")).OwnedBy);
        Assert.Equal(Id("local"), one.Id);
        Assert.Equal("offline", one.OwnedBy);
    }

    [Fact]
    public async Task Retrieving_an_unknown_model_is_404_model_not_found()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() => OpenAISdk.Client(_gateway).GetOpenAIModelClient().GetModelAsync("no-such-model", Ct));

        Assert.Equal(404, error.Status);
        Assert.Equal("model_not_found", OpenAISdk.Raw(error).GetProperty("error").GetProperty("code").GetString());
    }
}
