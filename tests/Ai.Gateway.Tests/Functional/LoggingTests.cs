using System.Net;
using System.Net.Http.Json;
using Ai.Gateway.Tests.Fakes;
using Ai.Gateway.Tests.Policy;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using TestSupport;

namespace Ai.Gateway.Tests.Functional;

/// <summary>What the shipped logging configuration writes: nothing per model call, no alarm for a client that leaves.</summary>
public sealed class LoggingTests(RedisFixture redis) : IAsyncLifetime
{
    private FakeGeminiServer _gemini = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _gemini = await FakeGeminiServer.StartNewAsync();

    public async ValueTask DisposeAsync() => await _gemini.DisposeAsync();

    private Task<PolicyGateway> StartAsync(IDictionary<string, string?>? settings = null) =>
        PolicyGateway.StartAsync(redis, _gemini, [new TestModel("main")], settings, services: s => s.AddLogging(b => b.AddFakeLogging()));

    private static FakeLogCollector Logs(PolicyGateway gateway) => gateway.Services.GetRequiredService<FakeLogCollector>();

    [Fact]
    public async Task Model_calls_write_no_information_line_with_the_shipped_levels()
    {
        await using var gateway = await StartAsync();
        await gateway.GenerateAsync(new { input = "warm up" });
        Logs(gateway).Clear();

        for (var i = 0; i < 3; i++)
        {
            var (response, body) = await gateway.GenerateAsync(new { input = $"call {i}" });
            Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
        }

        using var chat = await gateway.Client.PostAsJsonAsync("/v1/chat/completions",
            new { model = gateway.Id("main"), messages = new[] { new { role = "user", content = "Hi" } } }, Ct);
        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);

        var lines = Logs(gateway).GetSnapshot().Where(r => r.Level >= LogLevel.Information).Select(r => $"{r.Level} {r.Category}: {r.Message}").ToList();
        Assert.True(lines.Count == 0, string.Join("\n", lines));
    }

    [Fact]
    public async Task A_client_that_hangs_up_mid_request_leaves_a_debug_line_without_a_stack_trace()
    {
        await using var gateway = await StartAsync(new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Debug",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Debug",
        });
        _gemini.EnqueueFor(gateway.Id("main"), FakeReply.Stall());
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);

        var call = gateway.Client.PostAsJsonAsync("/v1/generate", new { input = "Hi" }, cancel.Token);
        var upstream = await _gemini.WaitForRequestAsync(0);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        await upstream.Aborted.WaitAsync(TimeSpan.FromSeconds(10), Ct);

        var disconnect = await Eventually.ValueAsync(
            () => Task.FromResult(Logs(gateway).GetSnapshot().Where(r => r.Message.Contains("aborted", StringComparison.OrdinalIgnoreCase)).ToList()),
            records => records.Count > 0, because: "the hang-up is logged: " + string.Join("\n", Logs(gateway).GetSnapshot().Select(r => $"{r.Level} {r.Category}: {r.Message} {r.Exception?.GetType().Name}")));
        Assert.All(disconnect, r => Assert.True(r.Level <= LogLevel.Information && r.Exception is null, $"{r.Level} {r.Category}: {r.Message} {r.Exception}"));
        // DataProtection warns once when a machine has no key ring yet (a fresh CI clone, a new container):
        // that is about the host, not about the hang-up.
        var alarms = Logs(gateway).GetSnapshot()
            .Where(r => r.Category?.StartsWith("Microsoft.AspNetCore.DataProtection", StringComparison.Ordinal) != true)
            .Where(r => r.Level >= LogLevel.Warning || (r.Exception is not null && r.Level >= LogLevel.Information))
            .Select(r => $"{r.Level} {r.Category}: {r.Message} {r.Exception?.GetType().Name}").ToList();
        Assert.True(alarms.Count == 0, string.Join("\n", alarms));
    }
}
