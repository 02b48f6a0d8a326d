using System.Net;
using System.Text;

namespace Web.Console.Tests;

/// <summary>
/// orchestration-api as the console sees it, answered in memory: each request goes to <see cref="Answer"/>, and every
/// request is kept (with the key it carried) for the assertions.
/// </summary>
internal sealed class StubApi : HttpMessageHandler, IHttpClientFactory
{
    public List<(HttpMethod Method, string Path, string? Key)> Requests { get; } = [];

    public Func<HttpRequestMessage, HttpResponseMessage> Answer { get; set; } = _ => Json(HttpStatusCode.NotFound, """{"title":"Not found","status":404}""");

    public HttpClient CreateClient(string name) => new(this, disposeHandler: false) { BaseAddress = new Uri($"http://{name}/") };

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var key = request.Headers.TryGetValues("X-Api-Key", out var keys) ? string.Join(",", keys) : null;
        lock (Requests)
        {
            Requests.Add((request.Method, request.RequestUri!.PathAndQuery, key));
        }

        return Task.FromResult(Answer(request));
    }

    public static string? KeyOf(HttpRequestMessage request) =>
        request.Headers.TryGetValues("X-Api-Key", out var keys) ? string.Join(",", keys) : null;

    public static HttpResponseMessage Json(HttpStatusCode status, string json) => new(status)
    {
        Content = new StringContent(json, Encoding.UTF8, (int)status >= 400 ? "application/problem+json" : "application/json"),
    };
}
