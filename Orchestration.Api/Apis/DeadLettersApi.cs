using Communication.Bus;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Orchestration.Api.Engine;
using Orchestration.Api.Model;

namespace Orchestration.Api.Apis;

/// <summary>The bus's dead-letter streams (<c>bus:{topic}:dlq</c>) for operators: list and replay.</summary>
public static class DeadLettersApi
{
    public static IEndpointRouteBuilder MapDeadLettersApi(this IEndpointRouteBuilder app)
    {
        // role: admin — operational routes; require ApiRoles.Admin once ServiceDefaults has roles (issue 9).
        var api = app.MapGroup("/api/dead-letters").WithTags("Dead letters").RequireAuthorization(ApiRoles.Admin);

        api.MapGet("/", ListTopics).WithName("ListDeadLetterTopics").WithSummary("Topics with dead letters, with counts");
        api.MapGet("/{topic}", ListDeadLetters).WithName("ListDeadLetters").WithSummary("A topic's dead letters, oldest first (paged with after=)");
        api.MapPost("/{topic}/{id}/replay", Replay).WithName("ReplayDeadLetter")
            .WithSummary("Put a dead letter back on its topic for the consumer group that dead-lettered it, and remove it");

        return app;
    }

    public static async Task<Ok<DeadLetterTopicsView>> ListTopics(IDeadLetterQueue deadLetters, CancellationToken cancellationToken)
    {
        var topics = await deadLetters.ListTopicsAsync(cancellationToken);
        var counted = await Task.WhenAll(topics.Select(async t => new DeadLetterTopicView(t, await deadLetters.CountAsync(t, cancellationToken))));
        return TypedResults.Ok(new DeadLetterTopicsView([.. counted.Where(t => t.Count > 0)]));
    }

    public static async Task<Results<Ok<DeadLetterPageView>, ValidationProblem>> ListDeadLetters(
        string topic, IDeadLetterQueue deadLetters, CancellationToken cancellationToken, int limit = 50, string? after = null)
    {
        var errors = new Dictionary<string, string[]>();
        CheckTopic(topic, errors);
        if (limit is < 1 or > 200)
        {
            errors["limit"] = ["Must be between 1 and 200."];
        }

        if (after is not null && !RunStore.IsStreamId(after))
        {
            errors["after"] = ["Not a dead-letter id this API returned."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        // One more than asked tells whether another page follows.
        var letters = await deadLetters.ListAsync(topic, limit + 1, after, cancellationToken);
        var page = letters.Take(limit).Select(DeadLetterView.From).ToList();
        var next = letters.Count > limit ? page[^1].Id : null;
        return TypedResults.Ok(new DeadLetterPageView(topic, await deadLetters.CountAsync(topic, cancellationToken), page, next));
    }

    public static async Task<Results<Ok<DeadLetterReplayView>, ValidationProblem, ProblemHttpResult>> Replay(
        string topic, string id, IDeadLetterQueue deadLetters, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        CheckTopic(topic, errors);
        if (!RunStore.IsStreamId(id))
        {
            errors["id"] = ["Not a dead-letter id this API returned."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        try
        {
            var entryId = await deadLetters.ReplayAsync(topic, id, cancellationToken);
            return TypedResults.Ok(new DeadLetterReplayView(topic, id, entryId));
        }
        catch (KeyNotFoundException)
        {
            return TypedResults.Problem($"Topic '{topic}' has no dead letter '{id}' (already replayed?).",
                statusCode: StatusCodes.Status404NotFound, title: "Unknown dead letter");
        }
        catch (InvalidOperationException ex)
        {
            // No valid message id: the bus cannot mark a replayed copy as accepted, so it refuses.
            return TypedResults.Problem(ex.Message, statusCode: StatusCodes.Status409Conflict, title: "The dead letter cannot be replayed");
        }
    }

    private static void CheckTopic(string topic, Dictionary<string, string[]> errors)
    {
        if (!BusProtocol.IsValidName(topic))
        {
            errors["topic"] = [$"A topic name matches ^[A-Za-z0-9._:-]{{1,{BusProtocol.MaxTopicLength}}}$."];
        }
    }
}
