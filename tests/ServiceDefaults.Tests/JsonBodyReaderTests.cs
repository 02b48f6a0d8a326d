using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ServiceDefaults.Tests;

public sealed class JsonBodyReaderTests
{
    public sealed record Item(string Name, int Count);

    public sealed record Contract
    {
        public string Title { get; init; } = "";

        public string? Note { get; init; }

        public IReadOnlyList<string> Tags { get; init; } = [];

        public IReadOnlyList<string?>? Maybe { get; init; }

        public IReadOnlyList<Item>? Items { get; init; }

        public Dictionary<string, string>? Labels { get; init; }

        public JsonElement? Free { get; init; }

        public int? Size { get; init; }
    }

    public sealed record OpenContract(string Id)
    {
        [JsonExtensionData]
        public Dictionary<string, JsonElement>? Rest { get; init; }
    }

    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static HttpRequest Request(byte[] body, string? contentType = "application/json", int maxDepth = 32)
    {
        var services = new ServiceCollection().AddSingleton(new ApiLimitsOptions { MaxJsonDepth = maxDepth, MaxRequestBodyBytes = 4096 }).BuildServiceProvider();
        var context = new DefaultHttpContext { RequestServices = services };
        context.Request.Body = new MemoryStream(body);
        context.Request.ContentLength = body.Length;
        context.Request.ContentType = contentType;
        return context.Request;
    }

    private static HttpRequest Request(string body, string? contentType = "application/json", int maxDepth = 32) =>
        Request(Encoding.UTF8.GetBytes(body), contentType, maxDepth);

    private static async Task<IReadOnlyDictionary<string, string[]>> ErrorsAsync(HttpRequest request)
    {
        var body = await JsonBodyReader.ReadAsync<Contract>(request, Web, Ct);
        Assert.False(body.IsValid);
        Assert.Equal(400, body.Problem.StatusCode);
        return body.Problem.Errors;
    }

    [Fact]
    public async Task A_good_body_is_bound()
    {
        var body = await JsonBodyReader.ReadAsync<Contract>(Request("""{"title":"t","tags":["a"],"items":[{"name":"n","count":2}],"free":{"any":[1,"x"]},"size":3}"""), Web, Ct);

        Assert.True(body.IsValid);
        Assert.False(body.IsEmpty);
        Assert.Equal("t", body.Value!.Title);
        Assert.Equal(2, body.Value.Items![0].Count);
        Assert.Equal(3, body.Value.Size);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/json; charset=klingon")]
    [InlineData("application/json; charset=utf-16")]
    [InlineData("application/json; charset=iso-8859-1")]
    [InlineData(null)]
    public async Task Anything_but_utf8_json_is_415(string? contentType)
    {
        var body = await JsonBodyReader.ReadAsync<Contract>(Request("""{"title":"t"}""", contentType), Web, Ct);

        Assert.Equal(415, body.Problem!.StatusCode);
        Assert.Equal(415, body.Problem.ToResult().StatusCode);
    }

    [Theory]
    [InlineData("application/json; charset=utf8")]
    [InlineData("application/problem+json; charset=UTF-8")]
    public async Task Utf8_spelled_either_way_and_json_suffixes_are_read(string contentType) =>
        Assert.True((await JsonBodyReader.ReadAsync<Contract>(Request("""{"title":"t"}""", contentType), Web, Ct)).IsValid);

    [Theory]
    [InlineData("""{"title":"t","colour":"red"}""", "colour")]
    [InlineData("""{"items":[{"name":"n","count":1,"extra":true}]}""", "items[0].extra")]
    [InlineData("""{"title":null}""", "title")]
    [InlineData("""{"tags":["a",null]}""", "tags[1]")]
    [InlineData("""{"items":[null]}""", "items[0]")]
    [InlineData("""{"labels":{"k":null}}""", "labels.k")]
    [InlineData("""{"labels":{"a.b":null}}""", "labels['a.b']")]
    [InlineData("""{"title":"a","Title":"b"}""", "Title")]
    [InlineData("""{"title":"a","title":"b"}""", "title")]
    [InlineData("""{"free":{"x":{"y":1,"y":2}}}""", "free.x.y")]
    [InlineData("""{"free":["\ud800"]}""", "free[0]")]
    [InlineData("""{"free":{"\udfff":1}}""", "free")]
    [InlineData("""{"size":"big"}""", "size")]
    [InlineData("""{"items":[{"name":"n","count":"many"}]}""", "items[0].count")]
    [InlineData("""{"title":""", "$")]
    [InlineData("""[1]""", "$")]
    [InlineData("""null""", "$")]
    [InlineData("""{"title":"t"} {}""", "$")]
    public async Task Each_mistake_is_400_naming_its_path(string json, string path)
    {
        var errors = await ErrorsAsync(Request(json));

        Assert.True(errors.ContainsKey(path), $"no error for '{path}' in {JsonSerializer.Serialize(errors)}");
    }

    [Fact]
    public async Task Null_items_are_allowed_where_the_contract_allows_them() =>
        Assert.True((await JsonBodyReader.ReadAsync<Contract>(Request("""{"maybe":["a",null],"note":null,"size":null}"""), Web, Ct)).IsValid);

    [Fact]
    public async Task Invalid_utf8_in_a_value_or_a_name_is_400_naming_the_path()
    {
        var bytes = Encoding.UTF8.GetBytes("""{"title":"~","free":{"~":1}}""").Select(b => b == (byte)'~' ? (byte)0xFE : b).ToArray();

        var errors = await ErrorsAsync(Request(bytes));

        Assert.Contains("title", errors.Keys);
        Assert.Contains("free", errors.Keys);
    }

    [Fact]
    public async Task Nesting_over_the_limit_is_400_naming_where()
    {
        var errors = await ErrorsAsync(Request("""{"free":{"a":{"b":{"c":1}}}}""", maxDepth: 3));

        Assert.Contains("free.a.b", errors.Keys);
    }

    [Fact]
    public async Task Errors_are_bounded()
    {
        var json = "{\"free\":{" + string.Join(',', Enumerable.Range(0, 100).Select(i => $"\"k{i}\":1,\"k{i}\":2")) + "}}";

        var errors = await ErrorsAsync(Request(json));

        Assert.Equal(20, errors.Count);
    }

    [Fact]
    public async Task An_empty_body_is_400_unless_optional()
    {
        Assert.Equal(400, (await JsonBodyReader.ReadAsync<Contract>(Request(""), Web, Ct)).Problem!.StatusCode);

        var request = Request("");
        request.ContentLength = 0;
        var optional = await JsonBodyReader.ReadOptionalAsync<Contract>(request, Web, Ct);
        Assert.True(optional.IsValid);
        Assert.True(optional.IsEmpty);
    }

    [Fact]
    public async Task A_body_over_the_limit_is_413()
    {
        var request = Request("{\"title\":\"" + new string('x', 5000) + "\"}");
        request.ContentLength = null;

        var error = await Assert.ThrowsAsync<BadHttpRequestException>(() => JsonBodyReader.ReadAsync<Contract>(request, Web, Ct));

        Assert.Equal(413, error.StatusCode);
    }

    [Fact]
    public async Task Extension_data_takes_unknown_fields()
    {
        var body = await JsonBodyReader.ReadAsync<OpenContract>(Request("""{"id":"x","other":1}"""), Web, Ct);

        Assert.True(body.IsValid);
        Assert.True(body.Value!.Rest!.ContainsKey("other"));
    }

    [Fact]
    public async Task Reading_any_object_checks_encoding_and_keys_but_not_fields()
    {
        var good = await JsonBodyReader.ReadObjectAsync(Request("""{"anything":[1,{"x":"y"}]}"""), Ct);
        var array = await JsonBodyReader.ReadObjectAsync(Request("""[1]"""), Ct);
        var duplicate = await JsonBodyReader.ReadObjectAsync(Request("""{"a":{"b":1,"b":2}}"""), Ct);
        var charset = await JsonBodyReader.ReadObjectAsync(Request("{}", "application/json; charset=latin1"), Ct);

        Assert.Equal(JsonValueKind.Array, good.Value!.Value.GetProperty("anything").ValueKind);
        Assert.Contains("$", array.Problem!.Errors.Keys);
        Assert.Contains("a.b", duplicate.Problem!.Errors.Keys);
        Assert.Equal(415, charset.Problem!.StatusCode);
    }

    [Fact]
    public async Task The_problem_result_carries_the_errors()
    {
        var body = await JsonBodyReader.ReadAsync<Contract>(Request("""{"colour":"red"}"""), Web, Ct);
        var context = new DefaultHttpContext { RequestServices = new ServiceCollection().AddLogging().AddProblemDetails().BuildServiceProvider() };
        context.Response.Body = new MemoryStream();

        await body.Problem!.ToResult().ExecuteAsync(context);

        context.Response.Body.Position = 0;
        var written = await JsonDocument.ParseAsync(context.Response.Body, cancellationToken: Ct);
        Assert.Equal(400, context.Response.StatusCode);
        Assert.True(written.RootElement.GetProperty("errors").TryGetProperty("colour", out _), written.RootElement.ToString());
    }
}
