using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Orchestration.Api.Services;

/// <summary>
/// The <c>when</c> language: a tiny, safe expression over the run input and ancestors' outputs.
/// Parsed into a tree once and evaluated against JSON; nothing is ever compiled or executed.
/// <code>
/// expr    := and ('or' and)*
/// and     := unary ('and' unary)*
/// unary   := 'not' unary | compare
/// compare := operand (('==' | '!=' | '&lt;' | '&lt;=' | '&gt;' | '&gt;=') operand)?
/// operand := literal | path | 'exists' '(' path ')' | '(' expr ')'
/// path    := 'input' ('.' name)* | 'steps' '.' id '.' 'output' ('.' name)*
/// literal := 'string' | "string" | number | true | false | null
/// </code>
/// A path alone is true when it exists and is not <c>false</c>, <c>null</c>, <c>0</c>, <c>""</c> or <c>[]</c>.
/// <c>==</c>/<c>!=</c> compare JSON values (numbers by value); <c>&lt;</c> etc. compare two numbers or two
/// strings (ordinal) and are false for anything else.
/// </summary>
public sealed class Condition
{
    public const int MaxLength = 2_000;
    private const int MaxDepth = 32;

    private readonly Node _root;

    private Condition(string text, Node root, IReadOnlyList<StepTemplates.Reference> references)
    {
        Text = text;
        _root = root;
        References = references;
    }

    public string Text { get; }

    /// <summary>Every path the condition reads (to check at PUT that they name ancestors).</summary>
    public IReadOnlyList<StepTemplates.Reference> References { get; }

    public static bool TryParse(string text, out Condition? condition, out string? error)
    {
        condition = null;
        if (text.Length > MaxLength)
        {
            error = $"At most {MaxLength} characters.";
            return false;
        }

        try
        {
            var parser = new Parser(Tokenize(text));
            var root = parser.ParseAll();
            condition = new Condition(text, root, parser.References);
            error = null;
            return true;
        }
        catch (FormatException ex)
        {
            error = ex.Message;
            return false;
        }
    }

    public static Condition Parse(string text) =>
        TryParse(text, out var condition, out var error) ? condition! : throw new FormatException(error);

    public bool Evaluate(JsonElement input, IReadOnlyDictionary<string, JsonElement?> outputs) =>
        Truthy(_root.Evaluate(input, outputs));

    private static bool Truthy(JsonElement? value) => value is { } v && v.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.String => v.GetString()!.Length > 0,
        JsonValueKind.Number => v.GetDouble() != 0,
        JsonValueKind.Array => v.GetArrayLength() > 0,
        JsonValueKind.Object => true,
        _ => false,
    };

    private static readonly JsonElement True = JsonSerializer.SerializeToElement(true);
    private static readonly JsonElement False = JsonSerializer.SerializeToElement(false);

    private static JsonElement Bool(bool value) => value ? True : False;

    private abstract record Node
    {
        public abstract JsonElement? Evaluate(JsonElement input, IReadOnlyDictionary<string, JsonElement?> outputs);
    }

    private sealed record Literal(JsonElement Value) : Node
    {
        public override JsonElement? Evaluate(JsonElement input, IReadOnlyDictionary<string, JsonElement?> outputs) => Value;
    }

    private sealed record PathNode(StepTemplates.Reference Reference) : Node
    {
        public override JsonElement? Evaluate(JsonElement input, IReadOnlyDictionary<string, JsonElement?> outputs) =>
            StepTemplates.Resolve(Reference, input, outputs);
    }

    private sealed record Exists(StepTemplates.Reference Reference) : Node
    {
        public override JsonElement? Evaluate(JsonElement input, IReadOnlyDictionary<string, JsonElement?> outputs) =>
            Bool(StepTemplates.Resolve(Reference, input, outputs) is { ValueKind: not JsonValueKind.Null });
    }

    private sealed record Not(Node Operand) : Node
    {
        public override JsonElement? Evaluate(JsonElement input, IReadOnlyDictionary<string, JsonElement?> outputs) =>
            Bool(!Truthy(Operand.Evaluate(input, outputs)));
    }

    private sealed record Logical(bool IsAnd, Node Left, Node Right) : Node
    {
        public override JsonElement? Evaluate(JsonElement input, IReadOnlyDictionary<string, JsonElement?> outputs)
        {
            var left = Truthy(Left.Evaluate(input, outputs));
            return Bool(IsAnd ? left && Truthy(Right.Evaluate(input, outputs)) : left || Truthy(Right.Evaluate(input, outputs)));
        }
    }

    private sealed record Compare(string Operator, Node Left, Node Right) : Node
    {
        public override JsonElement? Evaluate(JsonElement input, IReadOnlyDictionary<string, JsonElement?> outputs)
        {
            var left = Left.Evaluate(input, outputs);
            var right = Right.Evaluate(input, outputs);
            return Bool(Operator switch
            {
                "==" => JsonEquals(left, right),
                "!=" => !JsonEquals(left, right),
                _ => Order(left, right) is { } order && Operator switch
                {
                    "<" => order < 0,
                    "<=" => order <= 0,
                    ">" => order > 0,
                    _ => order >= 0,
                },
            });
        }

        private static bool JsonEquals(JsonElement? left, JsonElement? right)
        {
            var l = left ?? default;
            var r = right ?? default;
            if (l.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null || r.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
            {
                return l.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null && r.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null;
            }

            return l.ValueKind == JsonValueKind.Number && r.ValueKind == JsonValueKind.Number
                ? l.GetDouble() == r.GetDouble()
                : JsonElement.DeepEquals(l, r);
        }

        private static int? Order(JsonElement? left, JsonElement? right) => (left, right) switch
        {
            ({ ValueKind: JsonValueKind.Number } l, { ValueKind: JsonValueKind.Number } r) => l.GetDouble().CompareTo(r.GetDouble()),
            ({ ValueKind: JsonValueKind.String } l, { ValueKind: JsonValueKind.String } r) => string.CompareOrdinal(l.GetString(), r.GetString()),
            _ => null,
        };
    }

    private enum TokenKind { Name, String, Number, Operator, LeftParen, RightParen, End }

    private sealed record Token(TokenKind Kind, string Text, int Position);

    private static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (c is '(' or ')')
            {
                tokens.Add(new Token(c == '(' ? TokenKind.LeftParen : TokenKind.RightParen, c.ToString(), i));
                i++;
            }
            else if (c is '\'' or '"')
            {
                var start = i++;
                var value = new StringBuilder();
                while (i < text.Length && text[i] != c)
                {
                    if (text[i] == '\\' && i + 1 < text.Length)
                    {
                        i++;
                    }

                    value.Append(text[i++]);
                }

                if (i >= text.Length)
                {
                    throw new FormatException($"The string starting at {start} is not closed.");
                }

                i++;
                tokens.Add(new Token(TokenKind.String, value.ToString(), start));
            }
            else if (char.IsAsciiDigit(c) || (c == '-' && i + 1 < text.Length && char.IsAsciiDigit(text[i + 1])))
            {
                var start = i++;
                while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] is '.' or 'e' or 'E' or '+' or '-'))
                {
                    i++;
                }

                tokens.Add(new Token(TokenKind.Number, text[start..i], start));
            }
            else if (c is '=' or '!' or '<' or '>')
            {
                var start = i;
                var op = i + 1 < text.Length && text[i + 1] == '=' ? text.Substring(i, 2) : c.ToString();
                if (op is "=" or "!")
                {
                    throw new FormatException($"Unknown operator '{op}' at {start}; use ==, !=, <, <=, >, >=, and, or, not.");
                }

                i += op.Length;
                tokens.Add(new Token(TokenKind.Operator, op, start));
            }
            else if (char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-')
            {
                var start = i;
                while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] is '_' or '.' or '-'))
                {
                    i++;
                }

                tokens.Add(new Token(TokenKind.Name, text[start..i], start));
            }
            else
            {
                throw new FormatException($"Unexpected character '{c}' at {i}.");
            }
        }

        tokens.Add(new Token(TokenKind.End, "", text.Length));
        return tokens;
    }

    private sealed class Parser(List<Token> tokens)
    {
        private int _next;
        private int _depth;

        public List<StepTemplates.Reference> References { get; } = [];

        private Token Peek => tokens[_next];

        public Node ParseAll()
        {
            var node = Or();
            if (Peek.Kind != TokenKind.End)
            {
                throw new FormatException($"Unexpected '{Peek.Text}' at {Peek.Position}.");
            }

            return node;
        }

        private Node Or()
        {
            var left = And();
            while (IsWord("or"))
            {
                _next++;
                left = new Logical(false, left, And());
            }

            return left;
        }

        private Node And()
        {
            var left = Unary();
            while (IsWord("and"))
            {
                _next++;
                left = new Logical(true, left, Unary());
            }

            return left;
        }

        private Node Unary()
        {
            if (++_depth > MaxDepth)
            {
                throw new FormatException($"Nested more than {MaxDepth} levels deep.");
            }

            try
            {
                if (IsWord("not"))
                {
                    _next++;
                    return new Not(Unary());
                }

                var left = Operand();
                if (Peek.Kind == TokenKind.Operator)
                {
                    var op = tokens[_next++].Text;
                    return new Compare(op, left, Operand());
                }

                return left;
            }
            finally
            {
                _depth--;
            }
        }

        private Node Operand()
        {
            var token = tokens[_next++];
            switch (token.Kind)
            {
                case TokenKind.String:
                    return new Literal(JsonSerializer.SerializeToElement(token.Text));
                case TokenKind.Number:
                    if (!double.TryParse(token.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || !double.IsFinite(number))
                    {
                        throw new FormatException($"'{token.Text}' at {token.Position} is not a number.");
                    }

                    return new Literal(JsonSerializer.SerializeToElement(number));
                case TokenKind.LeftParen:
                    var inner = Or();
                    Expect(TokenKind.RightParen, "')'");
                    return inner;
                case TokenKind.Name when token.Text is "true" or "false":
                    return new Literal(Bool(token.Text == "true"));
                case TokenKind.Name when token.Text == "null":
                    return new Literal(JsonSerializer.SerializeToElement<object?>(null));
                case TokenKind.Name when token.Text == "exists":
                    Expect(TokenKind.LeftParen, "'(' after exists");
                    var path = tokens[_next++];
                    if (path.Kind != TokenKind.Name)
                    {
                        throw new FormatException($"exists( needs a path at {path.Position}.");
                    }

                    var exists = new Exists(ToReference(path));
                    Expect(TokenKind.RightParen, "')'");
                    return exists;
                case TokenKind.Name:
                    return new PathNode(ToReference(token));
                case TokenKind.End:
                    throw new FormatException("The condition ends too early.");
                default:
                    throw new FormatException($"Unexpected '{token.Text}' at {token.Position}.");
            }
        }

        private StepTemplates.Reference ToReference(Token token)
        {
            var parts = token.Text.Split('.');
            var valid = parts.All(p => p.Length > 0) && (parts[0] == "input"
                || (parts[0] == "steps" && parts.Length >= 3 && parts[2] == "output"));
            if (!valid || token.Text is "and" or "or" or "not")
            {
                throw new FormatException($"'{token.Text}' at {token.Position} is not a path: use input.<field> or steps.<id>.output[.<field>].");
            }

            var reference = new StepTemplates.Reference($"{{{{{token.Text}}}}}", parts[0], parts[1..]);
            References.Add(reference);
            return reference;
        }

        private void Expect(TokenKind kind, string what)
        {
            if (Peek.Kind != kind)
            {
                throw new FormatException($"Expected {what} at {Peek.Position}.");
            }

            _next++;
        }

        private bool IsWord(string word) => Peek.Kind == TokenKind.Name && Peek.Text == word;
    }
}
