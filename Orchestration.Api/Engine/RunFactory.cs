using System.Text.Json;
using Orchestration.Api.Model;

namespace Orchestration.Api.Engine;

public static class RunFactory
{
    /// <summary>A new PENDING run of <paramref name="workflow"/>; the engine then applies <see cref="StartRun"/>.</summary>
    public static RunState Create(string runId, WorkflowDefinition workflow, JsonElement input, DateTimeOffset now,
        string? idempotencyKey = null, string? traceParent = null) => new()
    {
        RunId = runId,
        Nonce = Guid.NewGuid().ToString("N"),
        WorkflowId = workflow.Id,
        WorkflowVersion = workflow.Version ?? 0,
        Workflow = workflow,
        Input = input.Clone(),
        // The run's input and its copy in the workflow_started event.
        StoredBytes = 2L * input.GetRawText().Length,
        IdempotencyKey = idempotencyKey,
        CreatedAt = now,
        TraceParent = traceParent,
        Steps = workflow.Steps.Select(s => new StepState { Id = s.Id }).ToList(),
    };
}
