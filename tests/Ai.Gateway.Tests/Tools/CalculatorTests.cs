using Ai.Gateway.Tools.BuiltIn;

namespace Ai.Gateway.Tests.Tools;

public sealed class CalculatorTests
{
    [Theory]
    [InlineData("2 + 3 * 4", 14)]
    [InlineData("(2 + 3) * 4", 20)]
    [InlineData("10 - 4 - 3", 3)]
    [InlineData("100 / 10 / 5", 2)]
    [InlineData("2 * 3 % 4", 2)]
    [InlineData("7 % 3", 1)]
    [InlineData("2 ^ 3 * 2", 16)]
    [InlineData("1 + 2 ^ 2 * 3", 13)]
    public void Operators_follow_precedence_and_left_associativity(string expression, double expected) =>
        Assert.Equal(expected, Calculator.Evaluate(expression));

    [Theory]
    [InlineData("2 ^ 3 ^ 2", 512)]
    [InlineData("(2 ^ 3) ^ 2", 64)]
    [InlineData("-2 ^ 2", -4)]
    [InlineData("(-2) ^ 2", 4)]
    [InlineData("2 ^ -1", 0.5)]
    [InlineData("2 ^ -1 ^ 2", 0.5)]
    public void Power_is_right_associative_and_binds_tighter_than_unary_minus(string expression, double expected) =>
        Assert.Equal(expected, Calculator.Evaluate(expression));

    [Theory]
    [InlineData("-3", -3)]
    [InlineData("--3", 3)]
    [InlineData("-(-3)", 3)]
    [InlineData("+4", 4)]
    [InlineData("3 * -2", -6)]
    [InlineData("2 - -2", 4)]
    [InlineData("-0", 0)]
    public void Unary_minus_and_plus(string expression, double expected) =>
        Assert.Equal(expected, Calculator.Evaluate(expression));

    [Theory]
    [InlineData("1.5e3", 1500)]
    [InlineData("2E-2", 0.02)]
    [InlineData("1e+2", 100)]
    [InlineData(".5 + .25", 0.75)]
    [InlineData("0.1 + 0.2", 0.3)]
    [InlineData("  42  ", 42)]
    public void Numbers_with_decimals_and_exponents(string expression, double expected) =>
        Assert.Equal(expected, Calculator.Evaluate(expression));

    [Theory]
    [InlineData("sqrt(16)", 4)]
    [InlineData("abs(-2.5)", 2.5)]
    [InlineData("min(3, 1, 2)", 1)]
    [InlineData("max(3, 1, 2)", 3)]
    [InlineData("round(2.5)", 3)]
    [InlineData("round(-2.5)", -3)]
    [InlineData("round(3.14159, 2)", 3.14)]
    [InlineData("floor(-1.5)", -2)]
    [InlineData("ceil(1.2)", 2)]
    [InlineData("ln(e)", 1)]
    [InlineData("log10(1000)", 3)]
    [InlineData("exp(0)", 1)]
    [InlineData("cos(0)", 1)]
    [InlineData("2 * pi", 6.28318530717959)]
    [InlineData("SQRT(4) + PI - pi", 2)]
    [InlineData("max(1, min(5, 3) * 2) ^ 2", 36)]
    public void Functions_and_constants(string expression, double expected) =>
        Assert.Equal(expected, Calculator.Evaluate(expression));

    [Theory]
    [InlineData("1 / 0", "Division by zero at position 3")]
    [InlineData("5 % (2 - 2)", "Division by zero at position 3")]
    [InlineData("foo + 1", "Unknown name 'foo' at position 1")]
    [InlineData("1 +", "ends too early")]
    [InlineData("(1 + 2", "never closed")]
    [InlineData("1 + 2)", "Unexpected ')' at position 6")]
    [InlineData("1 2", "Unexpected '2' at position 3")]
    [InlineData("", "empty")]
    [InlineData("   ", "empty")]
    [InlineData("1e999", "too large")]
    [InlineData("10 ^ 400", "Overflow at position 4")]
    [InlineData("sqrt(-1)", "not a real number")]
    [InlineData("ln(0)", "infinite or too large")]
    [InlineData("1..2", "Malformed number")]
    [InlineData("1e", "exponent has no digits")]
    [InlineData("2x", "Malformed number")]
    [InlineData("pi(2)", "constant, not a function")]
    [InlineData("sqrt 4", "needs its arguments in parentheses")]
    [InlineData("min()", "takes at least 1 argument(s), not 0")]
    [InlineData("sqrt(1, 2)", "takes 1 argument(s), not 2")]
    [InlineData("round(1.5, 0.5)", "whole number of digits")]
    [InlineData("2 # 3", "Unexpected character '#' at position 3")]
    public void Invalid_expressions_are_errors_that_say_where(string expression, string expected)
    {
        var error = Assert.Throws<CalculatorException>(() => Calculator.Evaluate(expression));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1; System.Exit(0)", "Unexpected character ';'")]
    [InlineData("System.Environment.Exit(1)", "Unexpected character '.'")]
    [InlineData("__import__", "Unknown name '__import__'")]
    [InlineData("__import__('os').system('ls')", "Unexpected character '''")]
    [InlineData("1 + 1' or '1'='1", "Unexpected character '''")]
    [InlineData("Convert(1, 'System.Int32')", "Unexpected character '''")]
    [InlineData("exit", "Unknown name 'exit'")]
    [InlineData("new object()", "Unknown name 'new'")]
    [InlineData("eval(1)", "Unknown name 'eval'")]
    [InlineData("1 + {2}", "Unexpected character '{'")]
    public void Code_is_never_evaluated(string expression, string expected)
    {
        var error = Assert.Throws<CalculatorException>(() => Calculator.Evaluate(expression));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Nesting_up_to_the_limit_is_accepted()
    {
        var expression = new string('(', Calculator.MaxDepth) + "1" + new string(')', Calculator.MaxDepth);

        Assert.Equal(1, Calculator.Evaluate(expression));
    }

    [Theory]
    [InlineData('(')]
    [InlineData('-')]
    public void Nesting_deeper_than_the_limit_is_refused(char opener)
    {
        var depth = Calculator.MaxDepth + 1;
        var expression = opener == '('
            ? new string('(', depth) + "1" + new string(')', depth)
            : new string('-', depth) + "1";

        var error = Assert.Throws<CalculatorException>(() => Calculator.Evaluate(expression));
        Assert.Contains($"nested more than {Calculator.MaxDepth} levels", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Very_deep_nesting_fails_cleanly_instead_of_overflowing_the_stack()
    {
        var expression = new string('(', 499) + "1" + new string(')', 499);

        Assert.Throws<CalculatorException>(() => Calculator.Evaluate(expression));
    }

    [Fact]
    public void Expressions_longer_than_the_limit_are_refused()
    {
        var expression = string.Concat(Enumerable.Repeat("1+", Calculator.MaxLength / 2)) + "1";

        var error = Assert.Throws<CalculatorException>(() => Calculator.Evaluate(expression));
        Assert.Contains($"longer than {Calculator.MaxLength} characters", error.Message, StringComparison.Ordinal);
    }
}
