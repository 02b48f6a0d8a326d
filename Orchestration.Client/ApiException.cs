using System.Net;

namespace Orchestration.Client;

/// <summary>
/// A service answered with an error status. Carries the RFC 7807 problem details it sent: title, detail and the
/// field errors of a validation problem (field path → messages).
/// </summary>
public sealed class ApiException : HttpRequestException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="statusCode">The HTTP status.</param>
    /// <param name="title">The problem's title.</param>
    /// <param name="detail">The problem's detail, if any.</param>
    /// <param name="errors">Field errors of a validation problem.</param>
    public ApiException(HttpStatusCode statusCode, string title, string? detail, IReadOnlyDictionary<string, string[]>? errors = null)
        : base(Describe(statusCode, title, detail, errors), inner: null, statusCode)
    {
        Title = title;
        Detail = detail;
        Errors = errors ?? new Dictionary<string, string[]>();
    }

    /// <summary>The HTTP status (never null here).</summary>
    public new HttpStatusCode StatusCode => base.StatusCode ?? HttpStatusCode.InternalServerError;

    /// <summary>The problem's title, or the status's reason phrase when the body was not a problem.</summary>
    public string Title { get; }

    /// <summary>The problem's detail.</summary>
    public string? Detail { get; }

    /// <summary>Field path (for example <c>input.request</c> or <c>$</c>) → messages; empty unless a validation problem.</summary>
    public IReadOnlyDictionary<string, string[]> Errors { get; }

    private static string Describe(HttpStatusCode status, string title, string? detail, IReadOnlyDictionary<string, string[]>? errors)
    {
        var text = $"{(int)status} {title}";
        if (!string.IsNullOrEmpty(detail))
        {
            text += ": " + detail;
        }

        if (errors is { Count: > 0 })
        {
            text += " (" + string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")) + ")";
        }

        return text;
    }
}
