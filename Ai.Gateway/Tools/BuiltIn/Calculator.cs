using System.Globalization;
using static Ai.Gateway.Tools.BuiltIn.TokenKind;

namespace Ai.Gateway.Tools.BuiltIn;

/// <summary>
/// Evaluates arithmetic with a recursive-descent parser over <see cref="CalculatorTokenizer"/>'s
/// tokens. It knows numbers, + - * / % ^ (right-associative, binding tighter than unary minus, so
/// -2^2 = -4), parentheses, the constants pi and e and a fixed set of functions — nothing else, so
/// no input can reach code. Errors (<see cref="CalculatorException"/>) name the position.
/// </summary>
public static class Calculator
{
    public const int MaxLength = 1000;
    public const int MaxDepth = 64;

    private static readonly Dictionary<string, double> Constants = new(StringComparer.OrdinalIgnoreCase)
    {
        ["pi"] = Math.PI,
        ["e"] = Math.E,
    };

    private static readonly Dictionary<string, Function> Functions = new(StringComparer.OrdinalIgnoreCase)
    {
        ["sqrt"] = Function.Unary(Math.Sqrt),
        ["abs"] = Function.Unary(Math.Abs),
        ["floor"] = Function.Unary(Math.Floor),
        ["ceil"] = Function.Unary(Math.Ceiling),
        ["ln"] = Function.Unary(Math.Log),
        ["log10"] = Function.Unary(Math.Log10),
        ["exp"] = Function.Unary(Math.Exp),
        ["sin"] = Function.Unary(Math.Sin),
        ["cos"] = Function.Unary(Math.Cos),
        ["tan"] = Function.Unary(Math.Tan),
        ["min"] = new(1, int.MaxValue, args => args.Min()),
        ["max"] = new(1, int.MaxValue, args => args.Max()),
        ["round"] = new(1, 2, Round),
    };

    /// <summary>The names a caller may use: constants, then functions.</summary>
    public static IEnumerable<string> Names => Constants.Keys.Concat(Functions.Keys);

    /// <summary>The value of <paramref name="expression"/>, rounded to 15 significant digits.</summary>
    /// <exception cref="CalculatorException">The expression is malformed, too long or too deep, or its value is not a finite real number.</exception>
    public static double Evaluate(string expression)
    {
        if (expression.Length > MaxLength)
        {
            throw new CalculatorException($"The expression is longer than {MaxLength} characters.");
        }

        var value = new Parser(CalculatorTokenizer.Tokenize(expression)).ParseAll();
        // 15 significant digits hide binary noise (0.1 + 0.2 = 0.3); "+ 0.0" turns -0 into 0.
        return double.Parse(value.ToString("G15", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) + 0.0;
    }

    private static double Round(IReadOnlyList<double> args)
    {
        var digits = args.Count > 1 ? args[1] : 0;
        if (digits is < 0 or > 15 || digits != Math.Floor(digits))
        {
            throw new CalculatorException("round(x, digits) needs a whole number of digits from 0 to 15.");
        }

        return Math.Round(args[0], (int)digits, MidpointRounding.AwayFromZero);
    }

    private sealed record Function(int MinArgs, int MaxArgs, Func<IReadOnlyList<double>, double> Apply)
    {
        public static Function Unary(Func<double, double> f) => new(1, 1, args => f(args[0]));
    }

    private sealed class Parser(List<Token> tokens)
    {
        private int _next;
        private int _depth;

        private Token Current => tokens[_next];

        public double ParseAll()
        {
            if (Current.Kind == End)
            {
                throw new CalculatorException("The expression is empty.");
            }

            var value = ParseSum();
            return Current.Kind == End ? value : throw Unexpected(Current);
        }

        // sum := product (('+' | '-') product)*
        private double ParseSum()
        {
            var value = ParseProduct();
            while (Current.Kind is Plus or Minus)
            {
                var op = Take();
                var right = ParseProduct();
                value = Checked(op.Kind == Plus ? value + right : value - right, op);
            }

            return value;
        }

        // product := unary (('*' | '/' | '%') unary)*
        private double ParseProduct()
        {
            var value = ParseUnary();
            while (Current.Kind is Star or Slash or Percent)
            {
                var op = Take();
                var right = ParseUnary();
                if (op.Kind != Star && right == 0)
                {
                    throw new CalculatorException($"Division by zero at position {op.Position}.");
                }

                value = Checked(op.Kind switch { Star => value * right, Slash => value / right, _ => value % right }, op);
            }

            return value;
        }

        // unary := ('-' | '+') unary | power
        private double ParseUnary()
        {
            if (Current.Kind is not (Minus or Plus))
            {
                return ParsePower();
            }

            var op = Take();
            Enter(op);
            var operand = ParseUnary();
            _depth--;
            return op.Kind == Minus ? -operand : operand;
        }

        // power := primary ('^' unary)?   — right-associative: 2^3^2 = 2^(3^2)
        private double ParsePower()
        {
            var value = ParsePrimary();
            if (Current.Kind != Caret)
            {
                return value;
            }

            var op = Take();
            Enter(op);
            var exponent = ParseUnary();
            _depth--;
            return Checked(Math.Pow(value, exponent), op);
        }

        // primary := number | '(' sum ')' | constant | function '(' sum (',' sum)* ')'
        private double ParsePrimary()
        {
            var token = Take();
            switch (token.Kind)
            {
                case Number:
                    return token.Number;
                case LeftParen:
                    Enter(token);
                    var inner = ParseSum();
                    Expect(RightParen, token);
                    _depth--;
                    return inner;
                case Identifier:
                    return ParseName(token);
                default:
                    throw Unexpected(token);
            }
        }

        private double ParseName(Token name)
        {
            if (Constants.TryGetValue(name.Text, out var constant))
            {
                return Current.Kind == LeftParen
                    ? throw new CalculatorException($"'{name.Text}' at position {name.Position} is a constant, not a function.")
                    : constant;
            }

            if (!Functions.TryGetValue(name.Text, out var function))
            {
                throw new CalculatorException(
                    $"Unknown name '{name.Text}' at position {name.Position}; known names: {string.Join(", ", Names)}.");
            }

            if (Current.Kind != LeftParen)
            {
                throw new CalculatorException($"The function '{name.Text}' at position {name.Position} needs its arguments in parentheses.");
            }

            var open = Take();
            Enter(open);
            var args = new List<double>();
            if (Current.Kind != RightParen)
            {
                args.Add(ParseSum());
                while (Current.Kind == Comma)
                {
                    Take();
                    args.Add(ParseSum());
                }
            }

            Expect(RightParen, open);
            _depth--;
            if (args.Count < function.MinArgs || args.Count > function.MaxArgs)
            {
                var expected = function.MinArgs == function.MaxArgs ? $"{function.MinArgs}"
                    : function.MaxArgs == int.MaxValue ? $"at least {function.MinArgs}"
                    : $"{function.MinArgs} to {function.MaxArgs}";
                throw new CalculatorException(
                    $"The function '{name.Text}' at position {name.Position} takes {expected} argument(s), not {args.Count}.");
            }

            return Checked(function.Apply(args), name);
        }

        private Token Take() => tokens[_next++];

        private void Expect(TokenKind kind, Token opening)
        {
            if (Current.Kind != kind)
            {
                throw Current.Kind == End
                    ? new CalculatorException($"The '(' at position {opening.Position} is never closed.")
                    : Unexpected(Current);
            }

            Take();
        }

        private void Enter(Token token)
        {
            if (++_depth > MaxDepth)
            {
                throw new CalculatorException($"The expression is nested more than {MaxDepth} levels deep (at position {token.Position}).");
            }
        }

        private static CalculatorException Unexpected(Token token) => token.Kind == End
            ? new CalculatorException("The expression ends too early: a number, a name or '(' is missing.")
            : new CalculatorException($"Unexpected '{token.Text}' at position {token.Position}.");

        private static double Checked(double value, Token at) =>
            double.IsNaN(value) ? throw new CalculatorException($"The result at position {at.Position} is not a real number.")
            : double.IsInfinity(value) ? throw new CalculatorException($"Overflow at position {at.Position}: the result is infinite or too large.")
            : value;
    }
}
