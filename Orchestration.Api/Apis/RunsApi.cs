using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Orchestration.Api.Engine;
using Orchestration.Api.Model;
using Orchestration.Api.Services;

namespace Orchestration.Api.Apis;

public static partial class RunsApi
{
    public static IEndpointRouteBuilder MapRunsApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/workflows/{id}/runs", StartRun)
            .WithTags("Runs").WithName("StartRun")
            .WithSummary("Start a run (202); with ?waitMs= the final state is returned if the run ends within the wait")
            .Accepts<StartRunRequest>("application/json")
            .RequireAuthorization(ApiRoles.Client);

        var api = app.MapGroup("/api/runs").WithTags("Runs").RequireAuthorization(ApiRoles.Client);
        api.MapGet("/", ListRuns).WithName("ListRuns").WithSummary("List runs, newest first, by workflow and status (paged)");
        api.MapGet("/{runId}", GetRun).WithName("GetRun").WithSummary("Get a run with its steps");
        api.MapGet("/{runId}/events", StreamEvents).WithName("RunEvents").WithSummary("The run's events as Server-Sent Events: history, then live, until the run ends");
        api.MapPost("/{runId}/cancel", CancelRun).WithName("CancelRun").WithSummary("Cancel a run; completed steps are compensated");
        api.MapPost("/{runId}/signals/{name}", SendSignal).WithName("SendSignal")
            .WithSummary("Send a signal (e.g. an approval) to a run: { approved, by, comment, data }; the step waiting for it resumes")
            .Accepts<SignalRequest>("application/json");

        return app;
    }

    public sealed record RunServices(WorkflowStore Workflows, RunStore Runs, RunEngine Engine, RunEventNotifier Notifier, TimeProvider Time, IOptions<OrchestrationOptions> Options);

    public static async Task<Results<Accepted<RunAccepted>, Ok<RunView>, ValidationProblem, ProblemHttpResult>> StartRun(
        string id, HttpRequest request, [AsParameters] RunServices services, int? waitMs, CancellationToken cancellationToken)
    {
        if (waitMs is < 0 || waitMs > services.Options.Value.MaxWaitMs)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["waitMs"] = [$"Must be between 0 and {services.Options.Value.MaxWaitMs}."] });
        }

        var read = await JsonBodyReader.ReadOptionalAsync<StartRunRequest>(request, RunJson.Options, cancellationToken);
        if (!read.IsValid)
        {
            return read.Problem.ToResult();
        }

        var body = read.Value ?? new StartRunRequest();

        if (body.IdempotencyKey is { } key && (key.Length is 0 or > 200 || key.Any(char.IsControl)))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["idempotencyKey"] = ["1-200 printable characters."] });
        }

        if (body.Version is < 1)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["version"] = ["A version number, from 1."] });
        }

        var workflow = body.Version is { } version ? await services.Workflows.GetVersionAsync(id, version) : await services.Workflows.GetAsync(id);
        if (workflow is null)
        {
            var detail = body.Version is null ? $"No workflow '{id}' is stored." : $"Workflow '{id}' has no version {body.Version}.";
            return TypedResults.Problem(detail, statusCode: StatusCodes.Status404NotFound, title: "Unknown workflow");
        }

        var input = body.Input ?? JsonSerializer.SerializeToElement(new { });
        var errors = WorkflowValidator.ValidateInput(workflow, input);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        RunState run;
        try
        {
            run = (await services.Engine.StartAsync(workflow, input, body.IdempotencyKey, cancellationToken)).Run;
        }
        catch (IdempotencyConflictException conflict)
        {
            return TypedResults.Problem(conflict.Message, statusCode: StatusCodes.Status409Conflict, title: "Idempotency key reused with a different input",
                extensions: new Dictionary<string, object?> { ["runId"] = conflict.RunId });
        }
        catch (RunContentionException contention)
        {
            return TypedResults.Problem(contention.Message, statusCode: StatusCodes.Status503ServiceUnavailable, title: "Busy");
        }

        if (waitMs is > 0 && !run.IsTerminal)
        {
            run = await WaitForEndAsync(run.RunId, TimeSpan.FromMilliseconds(waitMs.Value), services, cancellationToken) ?? run;
        }

        return run.IsTerminal
            ? TypedResults.Ok(RunView.From(run))
            : TypedResults.Accepted($"/api/runs/{run.RunId}", new RunAccepted(run.RunId, run.Status));
    }

    public static async Task<Results<Ok<RunPage>, ValidationProblem>> ListRuns(RunStore runs, string? workflowId = null, string? status = null, int limit = 50, string? cursor = null)
    {
        RunStatus? wanted = null;
        if (status is not null)
        {
            if (!StatusNames.TryGetValue(status, out var parsed))
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["status"] = [$"One of: {string.Join(", ", StatusNames.Keys)}."] });
            }

            wanted = parsed;
        }

        if (limit is < 1 or > 200)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["limit"] = ["Must be between 1 and 200."] });
        }

        try
        {
            var (page, next) = await runs.ListAsync(workflowId, wanted, limit, cursor);
            return TypedResults.Ok(new RunPage(page.Select(RunSummary.From).ToList(), next));
        }
        catch (FormatException ex)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["cursor"] = [ex.Message] });
        }
    }

    public static async Task<Results<Ok<RunView>, NotFound>> GetRun(string runId, RunStore runs) =>
        await runs.LoadAsync(runId) is { } stored ? TypedResults.Ok(RunView.From(stored.State, await runs.LoadAttemptsAsync(runId))) : TypedResults.NotFound();

    public static async Task<Results<Accepted<RunView>, ValidationProblem, ProblemHttpResult>> SendSignal(
        string runId, string name, HttpRequest request, RunStore runs, RunEngine engine, TimeProvider time, CancellationToken cancellationToken)
    {
        if (!SignalName().IsMatch(name))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["name"] = ["Use 1-64 letters, digits, '_' or '-'."] });
        }

        var read = await JsonBodyReader.ReadOptionalAsync<SignalRequest>(request, RunJson.Options, cancellationToken);
        if (!read.IsValid)
        {
            return read.Problem.ToResult();
        }

        var body = read.Value ?? new SignalRequest();
        var fieldErrors = new Dictionary<string, string[]>();
        if (body.By is { Length: > 200 } || body.By?.Any(char.IsControl) == true)
        {
            fieldErrors["by"] = ["At most 200 printable characters."];
        }

        if (body.Comment is { Length: > 4000 })
        {
            fieldErrors["comment"] = ["At most 4000 characters."];
        }

        if (body.Data is { } data && data.GetRawText().Length > 64 * 1024)
        {
            fieldErrors["data"] = ["At most 64 KiB of JSON."];
        }

        if (fieldErrors.Count > 0)
        {
            return TypedResults.ValidationProblem(fieldErrors);
        }

        var stored = await runs.LoadAsync(runId);
        if (stored is null)
        {
            return TypedResults.Problem($"No run '{runId}' is stored.", statusCode: StatusCodes.Status404NotFound, title: "Unknown run");
        }

        if (!stored.State.Workflow.Steps.Any(s => s.Type == StepType.Approval && (s.Signal ?? s.Id) == name))
        {
            return TypedResults.Problem($"No step of workflow '{stored.State.WorkflowId}' version {stored.State.WorkflowVersion} waits for signal '{name}'.",
                statusCode: StatusCodes.Status404NotFound, title: "Unknown signal");
        }

        if (stored.State.IsTerminal || stored.State.Compensation is not null)
        {
            return TypedResults.Problem($"Run {runId} is {stored.State.Status}; it takes no more signals.", statusCode: StatusCodes.Status409Conflict, title: "The run is already ending");
        }

        var signal = new RunSignal { Approved = body.Approved, By = body.By, Comment = body.Comment, Data = body.Data, At = time.GetUtcNow() };
        try
        {
            var run = await engine.ApplyAsync(runId, new SignalReceived(name, signal), cancellationToken) ?? stored.State;
            return TypedResults.Accepted($"/api/runs/{runId}", RunView.From(run));
        }
        catch (RunContentionException contention)
        {
            return TypedResults.Problem(contention.Message, statusCode: StatusCodes.Status503ServiceUnavailable, title: "Busy");
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial System.Text.RegularExpressions.Regex SignalName();

    public static async Task<Results<ServerSentEventsResult<RunEvent>, NotFound, NoContent, ValidationProblem>> StreamEvents(
        string runId, HttpRequest request, RunStore runs, RunEventNotifier notifier, CancellationToken cancellationToken)
    {
        var stored = await runs.LoadAsync(runId);
        if (stored is null)
        {
            return TypedResults.NotFound();
        }

        var after = request.Headers["Last-Event-ID"].ToString() is { Length: > 0 } lastId ? lastId : "0";
        if (!RunStore.IsStreamId(after))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["Last-Event-ID"] = ["Not an event id this API sent."] });
        }

        // Reconnecting after the last event of an ended run: there is nothing more, ever (204 tells
        // an EventSource to stop reconnecting).
        if (stored.State.IsTerminal && after != "0" && (await runs.ReadEventsAsync(runId, after, 1)).Count == 0)
        {
            return TypedResults.NoContent();
        }

        return TypedResults.ServerSentEvents(Events(runId, after, runs, notifier, cancellationToken));
    }

    public static async Task<Results<Accepted<RunView>, NotFound, ProblemHttpResult>> CancelRun(string runId, RunStore runs, RunEngine engine, CancellationToken cancellationToken)
    {
        var stored = await runs.LoadAsync(runId);
        if (stored is null)
        {
            return TypedResults.NotFound();
        }

        if (stored.State.IsTerminal || stored.State.Compensation is not null)
        {
            var detail = stored.State.IsTerminal
                ? $"Run {runId} ended as {stored.State.Status}."
                : $"Run {runId} is compensating its completed steps and ends when they are undone.";
            return TypedResults.Problem(detail, statusCode: StatusCodes.Status409Conflict, title: "The run is already ending");
        }

        try
        {
            var run = await engine.ApplyAsync(runId, new CancelRun(), cancellationToken) ?? stored.State;
            return TypedResults.Accepted($"/api/runs/{runId}", RunView.From(run));
        }
        catch (RunContentionException contention)
        {
            return TypedResults.Problem(contention.Message, statusCode: StatusCodes.Status503ServiceUnavailable, title: "Busy");
        }
    }

    private static readonly Dictionary<string, RunStatus> StatusNames = new(StringComparer.OrdinalIgnoreCase)
    {
        ["PENDING"] = RunStatus.Pending,
        ["RUNNING"] = RunStatus.Running,
        ["SUCCEEDED"] = RunStatus.Succeeded,
        ["FAILED"] = RunStatus.Failed,
        ["CANCELLED"] = RunStatus.Cancelled,
        ["TIMED_OUT"] = RunStatus.TimedOut,
    };

    private static async IAsyncEnumerable<SseItem<RunEvent>> Events(string runId, string after, RunStore runs, RunEventNotifier notifier,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var last = after;
        while (!cancellationToken.IsCancellationRequested)
        {
            using var signal = await notifier.ArmAsync(runId);
            var events = await runs.ReadEventsAsync(runId, last);
            foreach (var (id, runEvent) in events)
            {
                last = id;
                yield return new SseItem<RunEvent>(runEvent, runEvent.Type) { EventId = id };
                if (RunEventTypes.IsTerminal(runEvent.Type))
                {
                    yield break;
                }
            }

            if (events.Count == 0)
            {
                if ((await runs.LoadAsync(runId))?.State is not { IsTerminal: false })
                {
                    yield break; // ended (its last event was read earlier) or expired while we watched
                }

                await signal.WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
            }
        }
    }

    private static async Task<RunState?> WaitForEndAsync(string runId, TimeSpan wait, RunServices services, CancellationToken cancellationToken)
    {
        var deadline = services.Time.GetUtcNow() + wait;
        RunState? run = null;
        while (true)
        {
            using var signal = await services.Notifier.ArmAsync(runId);
            run = (await services.Runs.LoadAsync(runId))?.State ?? run;
            var left = deadline - services.Time.GetUtcNow();
            if (run is null || run.IsTerminal || left <= TimeSpan.Zero)
            {
                return run;
            }

            await signal.WaitAsync(left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1), cancellationToken);
        }
    }
}
