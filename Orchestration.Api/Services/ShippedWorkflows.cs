using System.Text.Json;
using Microsoft.Extensions.Options;
using Orchestration.Api.Model;

namespace Orchestration.Api.Services;

/// <summary>Stores the workflows shipped with the service (e.g. <c>software-team</c>) when they are absent.</summary>
public sealed partial class ShippedWorkflows(WorkflowStore store, IOptions<OrchestrationOptions> options, ILogger<ShippedWorkflows> logger) : IHostedService
{
    public static IEnumerable<WorkflowDefinition> All()
    {
        var assembly = typeof(ShippedWorkflows).Assembly;
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith("Workflows.", StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            yield return JsonSerializer.Deserialize<WorkflowDefinition>(stream, RunJson.Options)!;
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.SeedWorkflows)
        {
            return;
        }

        foreach (var workflow in All())
        {
            var errors = WorkflowValidator.Validate(workflow);
            if (errors.Count > 0)
            {
                throw new InvalidOperationException($"The shipped workflow '{workflow.Id}' is invalid: {string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}"))}");
            }

            try
            {
                if (await store.AddIfAbsentAsync(workflow))
                {
                    LogSeeded(logger, workflow.Id);
                }
            }
            catch (StackExchange.Redis.RedisException ex)
            {
                // Redis may not be up yet; the workflow can still be PUT later. Readiness reports Redis.
                LogSeedFailed(logger, ex, workflow.Id);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Stored the shipped workflow '{WorkflowId}'.")]
    private static partial void LogSeeded(ILogger logger, string workflowId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not store the shipped workflow '{WorkflowId}'.")]
    private static partial void LogSeedFailed(ILogger logger, Exception exception, string workflowId);
}
