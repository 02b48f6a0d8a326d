using System.Text.RegularExpressions;
using StackExchange.Redis;
using TestSupport;

namespace Communication.Bus.Tests;

/// <summary>
/// The Redis user docs/RUNBOOK.md gives an outside agent ("Signing identities and the trust boundary"), read from the
/// document itself and created on the test's redis-server (7.0 or later): with it a C# bus takes a TASK from its own
/// topic and answers on the results topic without a single denied command (Redis's ACL LOG stays empty), and it
/// cannot touch the services' own keys, another agent's topic or another channel.
/// </summary>
public partial class OutsideAgentAclTests(RedisFixture redis)
{
    /// <summary>What the RUNBOOK tells a C# agent to add to its connection string.</summary>
    private const string ClientOptions = "tiebreaker=,configChannel=,$CONFIG=";

    [GeneratedRegex(@"^ACL SETUSER outside-agent-x .*$", RegexOptions.Multiline)]
    private static partial Regex AclLine();

    private static string RunbookAcl()
    {
        var text = File.ReadAllText(Path.Combine(Repo.Root, "docs", "RUNBOOK.md"));
        var match = AclLine().Match(text);
        Assert.True(match.Success, "docs/RUNBOOK.md has no 'ACL SETUSER outside-agent-x …' line");
        Assert.Contains($"`{ClientOptions}`", text, StringComparison.Ordinal);
        return match.Value.Trim();
    }

    [Fact]
    public async Task The_runbooks_outside_agent_user_takes_a_task_and_answers_and_reaches_nothing_else()
    {
        var id = Guid.NewGuid().ToString("N")[..10];
        var (user, password, agentTopic, resultsTopic) = ($"outside-agent-{id}", $"pw-{Guid.NewGuid():N}", $"agent.{id}", $"orchestration.results-{id}");
        var acl = RunbookAcl()
            .Replace("outside-agent-x", user, StringComparison.Ordinal)
            .Replace(">agent-x-password", ">" + password, StringComparison.Ordinal)
            .Replace("agent.x", agentTopic, StringComparison.Ordinal)
            .Replace("orchestration.results", resultsTopic, StringComparison.Ordinal);
        var words = acl.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("OK", (string?)await redis.Db.ExecuteAsync(words[0], [.. words.Skip(1)]));

        // The orchestrator's side: the default user, its own key.
        var orchestratorSettings = TestBus.Settings("orchestrator");
        await using var orchestrator = await TestBus.CreateAsync(redis, orchestratorSettings);
        var results = new Recorder();
        await using var resultsSubscription = await orchestrator.Bus.SubscribeAsync(resultsTopic, results.Handle);

        // A consumer of the agent's group that died holding a task: the agent must reclaim it (XAUTOCLAIM).
        var agentName = $"outside.{id}";
        await redis.Db.ExecuteAsync("XGROUP", "CREATE", $"bus:{{{agentTopic}}}", agentName, "$", "MKSTREAM");
        var orphan = await orchestrator.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Task, agentTopic, new Work("orphan", 1)));
        await redis.Db.StreamReadGroupAsync($"bus:{{{agentTopic}}}", agentName, "dead-consumer", ">", 1);

        // The outside agent: the RUNBOOK's user, a bus like any C# agent's.
        var agentConnection = await ConnectionMultiplexer.ConnectAsync($"{redis.Server.ConnectionString},user={user},password={password},{ClientOptions}");
        await using var _ = agentConnection;
        var agentBus = new RedisMessageBus(agentConnection, TestBus.Settings(agentName));
        var agentSubscription = await agentBus.SubscribeAsync(agentTopic, async (task, ct) =>
        {
            await agentBus.PublishAsync(new OutgoingMessage(MessageType.TaskResult, resultsTopic, task.Payload) { CorrelationId = task.Id }, ct);
        });

        var sent = await orchestrator.Bus.PublishAsync(OutgoingMessage.Create(MessageType.Task, agentTopic, new Work("task", 2)));
        await Eventually.TrueAsync(() => results.Count == 2, because: "the outside agent answers both tasks on the results topic");
        Assert.Equal(new[] { orphan.MessageId, sent.MessageId }.Order(StringComparer.Ordinal), results.Messages.Select(m => m.CorrelationId!).Order(StringComparer.Ordinal));
        Assert.All(results.Messages, m => Assert.Equal(agentName, m.From));

        // Its housekeeping (trimming both topics, removing idle consumers) and its graceful stop run too.
        await agentBus.Maintenance.RunOnceAsync(TestContext.Current.CancellationToken);

        // The services' keys, another agent's topic and another notify channel are out of reach.
        var agentDb = agentConnection.GetDatabase();
        var other = $"bus:{{agent.other-{id}}}";
        await AssertDeniedAsync(() => agentDb.StringSetAsync($"orch:agent:{id}", "x"));
        await AssertDeniedAsync(() => agentDb.StringGetAsync("orch:{agents}"));
        await AssertDeniedAsync(() => agentDb.StreamAddAsync(other, "a", "b"));
        await AssertDeniedAsync(() => agentDb.StreamReadAsync(other, "0"));
        await AssertDeniedAsync(() => agentDb.PublishAsync(RedisChannel.Literal($"{other}:notify"), ""));
        await AssertDeniedAsync(() => agentDb.ExecuteAsync("FLUSHALL"));
        await agentSubscription.DisposeAsync();
        await agentBus.DisposeAsync();

        // Everything the bus itself did was allowed: the user's only denials are the probes above.
        string[] probes = [$"key orch:agent:{id}", "key orch:{agents}", $"key {other}", $"channel {other}:notify", "command flushall"];
        var denials = await DenialsAsync(user);
        Assert.True(denials.All(probes.Contains), $"denied to the bus: {string.Join("; ", denials.Except(probes))}");
        Assert.All(probes, p => Assert.Contains(p, denials));
    }

    private static async Task AssertDeniedAsync(Func<Task> call)
    {
        var error = await Assert.ThrowsAsync<RedisServerException>(call);
        Assert.StartsWith("NOPERM", error.Message, StringComparison.Ordinal);
    }

    /// <summary>The ACL LOG entries of one user, each as "reason object" (e.g. "command info", "key orch:x").</summary>
    private async Task<List<string>> DenialsAsync(string user)
    {
        var entries = (RedisResult[])(await redis.Db.ExecuteAsync("ACL", "LOG", "128"))!;
        var denials = new List<string>();
        foreach (var entry in entries)
        {
            var fields = entry.ToDictionary();
            if ((string?)fields["username"] == user)
            {
                denials.Add($"{fields["reason"]} {fields["object"]}");
            }
        }

        return denials;
    }
}
