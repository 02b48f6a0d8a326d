using System.Net;
using System.Text.Json;

namespace Orchestration.Client.Tests;

public sealed class AgentsAndWorkflowsTests(ServicesFixture services)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private OrchestrationClient Client => services.Client;

    [Fact]
    public async Task An_agent_registers_heartbeats_lists_and_is_removed()
    {
        var id = $"agent-{Guid.NewGuid():N}"[..14];

        var registered = await Client.RegisterAgentAsync(new AgentRegistration
        {
            Id = id, Name = "Client test", Capabilities = ["client-test"], Metadata = new Dictionary<string, string> { ["kind"] = "test" },
            Sender = $"outside.{id}",
        }, Ct);
        var beat = await Client.HeartbeatAsync(id, AgentStatuses.Busy, Ct);
        var listed = await Client.ListAgentsAsync(capability: "client-test", cancellationToken: Ct);
        var one = await Client.GetAgentAsync(id, Ct);
        var deleted = await Client.DeleteAgentAsync(id, Ct);

        Assert.Equal($"agent.{id}", registered.Topic);
        Assert.Equal($"outside.{id}", registered.Sender);
        Assert.Equal(AgentStatuses.Active, registered.Status);
        Assert.True(beat);
        Assert.Equal(id, Assert.Single(listed).Id);
        Assert.Equal(AgentStatuses.Busy, one!.Status);
        Assert.Equal("test", one.Metadata["kind"]);
        Assert.True(deleted);
        Assert.Null(await Client.GetAgentAsync(id, Ct));
        Assert.False(await Client.HeartbeatAsync(id, cancellationToken: Ct));
        Assert.False(await Client.DeleteAgentAsync(id, Ct));
    }

    [Fact]
    public async Task A_bad_status_filter_is_an_api_exception_naming_the_field()
    {
        var error = await Assert.ThrowsAsync<ApiException>(() => Client.ListAgentsAsync(status: "sleepy", cancellationToken: Ct));

        Assert.Equal(HttpStatusCode.BadRequest, error.StatusCode);
        Assert.True(error.Errors.ContainsKey("status"));
    }

    [Fact]
    public async Task A_workflow_is_stored_read_back_and_listed_and_an_invalid_one_names_its_fields()
    {
        var id = $"wf-{Guid.NewGuid():N}"[..12];
        var stored = await Client.PutWorkflowAsync(new WorkflowDefinition
        {
            Id = id,
            Description = "two steps",
            Steps =
            [
                new StepDefinition { Id = "a", Agent = EchoAgent.Id, Input = JsonSerializer.SerializeToElement(new { text = "{{input.text}}" }) },
                new StepDefinition { Id = "b", Capability = "echo", MaxAttempts = 2 },
            ],
        }, Ct);

        var read = await Client.GetWorkflowAsync(id, Ct);
        var all = await Client.ListWorkflowsAsync(Ct);

        Assert.Equal(id, stored.Id);
        Assert.Equal(["a", "b"], read!.Steps.Select(s => s.Id));
        Assert.Equal("{{input.text}}", read.Steps[0].Input!.Value.GetProperty("text").GetString());
        Assert.Equal(2, read.Steps[1].MaxAttempts);
        Assert.Contains(all, w => w.Id == id);
        Assert.Null(await Client.GetWorkflowAsync("no-such-workflow", Ct));

        var invalid = await Assert.ThrowsAsync<ApiException>(() => Client.PutWorkflowAsync(new WorkflowDefinition { Id = id, Steps = [] }, Ct));
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.NotEmpty(invalid.Errors);
    }

    [Fact]
    public async Task Versions_of_an_unknown_workflow_are_empty()
    {
        Assert.Empty(await Client.ListWorkflowVersionsAsync("no-such-workflow", Ct));
        Assert.Null(await Client.GetWorkflowVersionAsync("no-such-workflow", "1", Ct));
    }

    [Fact]
    public async Task Fields_the_client_does_not_know_are_kept()
    {
        var definition = JsonSerializer.Deserialize<WorkflowDefinition>(
            """{ "id": "x", "version": 3, "steps": [ { "id": "a", "agent": "echo", "dependsOn": [], "forEach": "{{input.items}}" } ], "owner": "me" }""",
            ApiJson.Options)!;

        Assert.Equal("3", definition.Version);
        Assert.Equal("me", definition.Extra!["owner"].GetString());
        Assert.Empty(definition.Steps[0].DependsOn!);
        Assert.True(definition.Steps[0].TryGetExtra("forEach", out var forEach));
        Assert.Equal("{{input.items}}", forEach.GetString());
        Assert.False(definition.Steps[0].TryGetExtra("approval", out _));
    }
}
