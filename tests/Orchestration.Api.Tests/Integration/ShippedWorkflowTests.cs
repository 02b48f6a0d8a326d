using System.Net.Http.Json;
using System.Text.Json;

namespace Orchestration.Api.Tests.Integration;

/// <summary>The workflows shipped with the service are stored at start-up, on an empty Redis.</summary>
[Trait("Category", "Cluster")]
public sealed class ShippedWorkflowTests : IntegrationTest
{
    [Fact]
    public async Task The_software_team_workflow_is_present_at_start_up()
    {
        var workflow = await Api.GetFromJsonAsync<JsonElement>("/api/workflows/software-team", Ct);
        var all = await Api.GetFromJsonAsync<JsonElement>("/api/workflows", Ct);

        Assert.Equal("software-team", workflow.GetProperty("id").GetString());
        Assert.Equal(["analysis", "prd", "architecture", "approve-design", "code", "qa", "security", "merge"],
            workflow.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("id").GetString()));
        Assert.All(workflow.GetProperty("steps").EnumerateArray().Where(s => s.GetProperty("type").GetString() == "agent"),
            s => Assert.False(string.IsNullOrEmpty(s.GetProperty("capability").GetString())));
        Assert.Equal(["qa", "security"], workflow.GetProperty("steps")[7].GetProperty("dependsOn").EnumerateArray().Select(d => d.GetString()));
        Assert.Contains(all.EnumerateArray(), w => w.GetProperty("id").GetString() == "software-team");
    }
}
