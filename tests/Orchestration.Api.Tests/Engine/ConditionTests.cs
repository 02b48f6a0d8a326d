using System.Text.Json;
using Orchestration.Api.Services;

namespace Orchestration.Api.Tests.Engine;

public sealed class ConditionTests
{
    private static readonly JsonElement Input = JsonSerializer.SerializeToElement(new { flag = true, count = 3, name = "alice", empty = "", list = new[] { 1 } });
    private static readonly Dictionary<string, JsonElement?> Outputs = new()
    {
        ["review"] = JsonSerializer.SerializeToElement(new { verdict = "pass", score = 7.5 }),
        ["skipped"] = null,
    };

    [Theory]
    [InlineData("input.flag", true)]
    [InlineData("input.flag == true", true)]
    [InlineData("not input.flag", false)]
    [InlineData("input.count > 2 and input.count <= 3", true)]
    [InlineData("input.count >= 4 or input.name == 'alice'", true)]
    [InlineData("input.name != \"bob\"", true)]
    [InlineData("input.name < 'b'", true)]
    [InlineData("input.empty", false)]
    [InlineData("input.list", true)]
    [InlineData("input.missing", false)]
    [InlineData("input.missing == null", true)]
    [InlineData("exists(input.name) and not exists(input.missing)", true)]
    [InlineData("steps.review.output.verdict == 'pass' and steps.review.output.score > 7", true)]
    [InlineData("exists(steps.skipped.output)", false)]
    [InlineData("input.count == 3.0", true)]
    [InlineData("input.count > 'a'", false)]
    [InlineData("(input.flag or false) and not (input.count == 1)", true)]
    [InlineData("-1 < input.count", true)]
    public void Evaluates(string text, bool expected) =>
        Assert.Equal(expected, Condition.Parse(text).Evaluate(Input, Outputs));

    [Theory]
    [InlineData("")]
    [InlineData("input.flag ==")]
    [InlineData("input.flag = true")]
    [InlineData("System.IO.File.Delete('x')")]
    [InlineData("steps.review")]
    [InlineData("'unterminated")]
    [InlineData("input.flag; drop")]
    [InlineData("(input.flag")]
    [InlineData("exists(1)")]
    [InlineData("input.flag true")]
    public void Refuses(string text) =>
        Assert.False(Condition.TryParse(text, out _, out var error) || error is null);

    [Fact]
    public void Refuses_deep_nesting_and_long_text()
    {
        Assert.False(Condition.TryParse(string.Concat(Enumerable.Repeat("not ", 100)) + "input.flag", out _, out _));
        Assert.False(Condition.TryParse(new string(' ', Condition.MaxLength + 1), out _, out _));
    }

    [Fact]
    public void Lists_the_paths_it_reads()
    {
        var condition = Condition.Parse("exists(steps.a.output.x) and input.y == 1");

        Assert.Equal(["steps", "input"], condition.References.Select(r => r.Root));
        Assert.Equal("a", condition.References[0].Segments[0]);
    }
}
